/**
 * An actionable message for a failure of the machine rather than of the input: a full disk, a
 * missing or unreadable path, a damaged gzip file. Undefined for anything else.
 */
export function describeSystemError(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  const code = (error as NodeJS.ErrnoException).code;
  const path = (error as NodeJS.ErrnoException).path;
  const where = path ? ` (${path})` : "";
  switch (code) {
    case "ENOSPC":
      return `the disk is full${where}. Nothing half-written was committed: free some space and rerun the same command.`;
    case "EDQUOT":
      return `the disk quota is used up${where}. Nothing half-written was committed: free some space and rerun.`;
    case "ENOENT":
      return `no such file or folder${where}: check the path.`;
    case "EACCES":
    case "EPERM":
      return `permission denied${where}: check that you may read (and, for outputs, write) it.`;
    case "EISDIR":
      return `expected a file but found a folder${where}.`;
    case "ENOTDIR":
      return `expected a folder but found a file${where}.`;
    case "EMFILE":
      return "too many open files: raise the limit (ulimit -n) or lower --concurrency.";
    case "Z_BUF_ERROR":
    case "Z_DATA_ERROR":
      return `a gzip file is truncated or damaged${where}: ${error.message}. Download it again.`;
    default:
      return undefined;
  }
}
