import { warnDeprecated } from "../deprecated-names";
import { UsageError } from "../errors";

/**
 * The value of a renamed flag: the new flag's, else the old flag's with a deprecation warning.
 * Giving both is a UsageError naming the old one.
 *
 * ```ts
 * renamedFlagValue({ newFlag: "--base-url", oldFlag: "--hub-url", newValue: undefined, oldValue: "http://127.0.0.1:8080" })
 * // -> "http://127.0.0.1:8080", and a DeprecationWarning
 * ```
 */
export function renamedFlagValue<T>(flags: { newFlag: string; oldFlag: string; newValue: T | undefined; oldValue: T | undefined }): T | undefined {
  if (flags.oldValue === undefined) return flags.newValue;
  if (flags.newValue !== undefined) throw new UsageError(`${flags.oldFlag} is the deprecated name of ${flags.newFlag}: give only ${flags.newFlag}`);
  warnDeprecated(flags.oldFlag, flags.newFlag, "build-datasets");
  return flags.oldValue;
}
