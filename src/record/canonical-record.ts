import { z } from "zod";
import { isIso639_1 } from "./language-codes";

/** A lowercase ISO 639-1 language code as used inside data (`"de"`). */
export const languageCodeSchema = z
  .string()
  .refine(isIso639_1, { message: "expected a lowercase ISO 639-1 language code such as \"en\" or \"de\"" });

export const roleSchema = z.enum(["system", "user", "assistant"]);

/** One chat message in the TRL / OpenAI shape. */
export const messageSchema = z.strictObject({
  role: roleSchema,
  content: z.string(),
});

/**
 * The canonical record every reader normalises to and every writer emits.
 * `id` is the parallel key: the same id in two languages is the same item.
 */
export const canonicalRecordSchema = z.strictObject({
  id: z.string().min(1),
  lang: languageCodeSchema,
  source: z.string().min(1),
  messages: z.array(messageSchema).min(1),
  meta: z.record(z.string(), z.unknown()),
});

export type Role = z.infer<typeof roleSchema>;
export type Message = z.infer<typeof messageSchema>;
export type CanonicalRecord = z.infer<typeof canonicalRecordSchema>;
