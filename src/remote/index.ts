export { callWithRetry, nextTimeout, remoteCallPolicySchema, resolveMaxTimeout } from "./call-with-retry";
export type { AttemptContext, CallWithRetryOptions, RemoteCallPolicy } from "./call-with-retry";
export { parseRetryAfter, readHeader, type HeadersLike } from "./parse-retry-after";
export { debugLoggingWarning, KEY_ENVIRONMENT_VARIABLES, redactCause, redactSecrets, registerSecret, REDACTED } from "./redact-secrets";
export { isRetryableStatus, RemoteAuthError, RemoteCallError, RemoteQuotaError, RemoteTimeoutError } from "./remote-call-error";
export type { RemoteCallErrorOptions } from "./remote-call-error";
export { createOpenAIClient, toOpenAICallError, type OpenAIFailureContext } from "./openai-client";
export { createFetchWithTimeout } from "./fetch-with-timeout";
