import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { DamagedJsonlError, openAppendOnlyJsonl, ReadOnlyJsonlError } from "../../src/io/append-only-jsonl";
import { useTemporaryDirectories } from "../support/temporary-directory";

const schema = z.strictObject({ id: z.string(), value: z.number() });
const line = (id: string, value: number) => JSON.stringify({ id, value });

describe("openAppendOnlyJsonl", () => {
  const temporaryDirectory = useTemporaryDirectories();

  it("creates the file and its folder on the first append, not on open", async () => {
    const path = join(await temporaryDirectory(), "nested", "store.jsonl");
    const store = await openAppendOnlyJsonl({ path, schema, what: "entry" });
    expect(store.entries).toEqual([]);
    await store.close();
    await expect(readFile(path)).rejects.toThrow(/ENOENT/);
    const again = await openAppendOnlyJsonl({ path, schema, what: "entry" });
    await Promise.all([again.append([{ id: "a", value: 1 }]), again.append([{ id: "b", value: 2 }, { id: "c", value: 3 }])]);
    await again.close();
    expect(await readFile(path, "utf8")).toBe(`${line("a", 1)}\n${line("b", 2)}\n${line("c", 3)}\n`);
  });

  it("ignores a torn last line, leaves it on open and cuts it off on the first append", async () => {
    const path = join(await temporaryDirectory(), "store.jsonl");
    await writeFile(path, `${line("a", 1)}\n{"id":"b","val`);
    const store = await openAppendOnlyJsonl({ path, schema, what: "entry" });
    expect(store.entries).toEqual([{ id: "a", value: 1 }]);
    expect(store.hadTornLine).toBe(true);
    expect(await readFile(path, "utf8")).toBe(`${line("a", 1)}\n{"id":"b","val`);
    await store.append([{ id: "c", value: 3 }]);
    await store.close();
    expect(await readFile(path, "utf8")).toBe(`${line("a", 1)}\n${line("c", 3)}\n`);
  });

  it("counts a last line that is torn only after its JSON as a torn line when the schema rejects it", async () => {
    const path = join(await temporaryDirectory(), "store.jsonl");
    await writeFile(path, `${line("a", 1)}\n{"id":"b"}`);
    const store = await openAppendOnlyJsonl({ path, schema, what: "entry" });
    expect(store.hadTornLine).toBe(true);
    expect(store.entries).toHaveLength(1);
    await store.close();
  });

  it("keeps a complete last entry that lacks only its newline, and starts the next append on a new line", async () => {
    const path = join(await temporaryDirectory(), "store.jsonl");
    await writeFile(path, `${line("a", 1)}\n${line("b", 2)}`);
    const store = await openAppendOnlyJsonl({ path, schema, what: "entry" });
    expect(store.entries).toEqual([{ id: "a", value: 1 }, { id: "b", value: 2 }]);
    expect(store.hadTornLine).toBe(false);
    await store.append([{ id: "c", value: 3 }]);
    await store.close();
    expect(await readFile(path, "utf8")).toBe(`${line("a", 1)}\n${line("b", 2)}\n${line("c", 3)}\n`);
  });

  it("rejects a damaged line anywhere but at the end, naming file and line", async () => {
    const folder = await temporaryDirectory();
    const invalidJson = join(folder, "invalid-json.jsonl");
    await writeFile(invalidJson, `${line("a", 1)}\n\n{oops\n${line("b", 2)}\n`);
    const error = await openAppendOnlyJsonl({ path: invalidJson, schema, what: "store entry" }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DamagedJsonlError);
    expect(error).toMatchObject({ file: invalidJson, line: 3 });
    expect((error as Error).message).toBe(`${invalidJson}:3: not a store entry (invalid JSON); fix or delete that line`);

    const wrongShape = join(folder, "wrong-shape.jsonl");
    await writeFile(wrongShape, `{"id":"a"}\n${line("b", 2)}\n`);
    await expect(openAppendOnlyJsonl({ path: wrongShape, schema, what: "store entry" })).rejects.toThrow(`${wrongShape}:1: not a store entry; fix or delete that line`);

    // Terminated by a newline, a bad last line is not torn by a kill: an error too.
    const badLastLine = join(folder, "bad-last-line.jsonl");
    await writeFile(badLastLine, `${line("a", 1)}\n{oops\n`);
    await expect(openAppendOnlyJsonl({ path: badLastLine, schema, what: "store entry" })).rejects.toThrow(`${badLastLine}:2:`);
  });

  it("never writes when read-only", async () => {
    const path = join(await temporaryDirectory(), "store.jsonl");
    await writeFile(path, `${line("a", 1)}\n{"torn`);
    const store = await openAppendOnlyJsonl({ path, schema, what: "entry", readOnly: true });
    await expect(store.append([{ id: "b", value: 2 }])).rejects.toBeInstanceOf(ReadOnlyJsonlError);
    await store.append([]);
    await store.close();
    expect(await readFile(path, "utf8")).toBe(`${line("a", 1)}\n{"torn`);
  });
});
