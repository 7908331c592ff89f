/**
 * Progress of hub operations, passed to an optional `onProgress` callback; the CLI renders it,
 * library code never prints.
 */
export type HubProgressEvent =
  /** A branch or tag was resolved to a commit (`offline: true`: taken from the cache without asking the hub). */
  | { type: "resolved"; repo: string; revision: string; commit: string; offline?: boolean }
  /** A file was found complete and verified in the cache: nothing downloaded. */
  | { type: "cached"; repo: string; path: string; bytes: number }
  /** Bytes of one file arrived; `resumedFrom` > 0 when an interrupted download continued. */
  | { type: "download"; repo: string; path: string; bytes: number; totalBytes: number; resumedFrom: number }
  /** A file finished downloading and passed verification. */
  | { type: "downloaded"; repo: string; path: string; bytes: number; sha256: string }
  /** Publishing: a phase of the commit started. */
  | { type: "upload-phase"; repo: string; phase: "creating-repo" | "preuploading" | "uploadingLargeFiles" | "committing" }
  /** Publishing: progress (0 to 1) of one file, while hashing or uploading. */
  | { type: "upload"; repo: string; path: string; state: "hashing" | "uploading"; progress: number };

/** Receives progress events. */
export type HubProgressCallback = (event: HubProgressEvent) => void;
