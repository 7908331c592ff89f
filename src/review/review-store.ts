import Database from "better-sqlite3";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";

/** A human correction of one translated segment (corpus) or of one question's turns (MT-Bench-X). */
export interface StoredCorrection {
  readonly lang: string;
  /** The unit: the source segment (corpus) or the question id `81_DE` (MT-Bench-X). */
  readonly unit: string;
  /** The corrected translation: the segment text, or a JSON array of turns. */
  readonly translation: string;
  /** The machine translation it replaces (for the export's context). */
  readonly original: string;
  readonly itemId: string;
  readonly turn: number;
  readonly segment: number;
  readonly updatedAt: string;
}

/** The reviewer's verdict on a whole item in one language. */
export type ItemStatus = "accepted" | "localise";

export interface StoredItemStatus {
  readonly itemId: string;
  readonly lang: string;
  readonly status: ItemStatus;
  readonly note: string;
  readonly updatedAt: string;
}

export interface StoredRating {
  readonly rater: string;
  readonly questionId: string;
  readonly lang: string;
  readonly model: string;
  readonly turn: number;
  readonly score: number;
  readonly updatedAt: string;
}

export type PairWinner = "model_a" | "model_b" | "tie";

export interface StoredVote {
  readonly rater: string;
  readonly questionId: string;
  readonly lang: string;
  /** Models in canonical (sorted) order, whatever side the rater saw them on. */
  readonly modelA: string;
  readonly modelB: string;
  readonly turn: number;
  readonly winner: PairWinner;
  readonly updatedAt: string;
}

/**
 * Every edit and rating of a review session, in SQLite (WAL, synchronous FULL): a write returns
 * only once it is on disk, so a server killed at any moment loses at most the request in flight.
 * Rows are keyed by rater, so two raters never overwrite each other.
 */
export interface ReviewStore {
  readonly path: string;
  putCorrection(correction: Omit<StoredCorrection, "updatedAt">): void;
  deleteCorrection(lang: string, unit: string): boolean;
  listCorrections(): StoredCorrection[];
  putItemStatus(status: Omit<StoredItemStatus, "updatedAt">): void;
  deleteItemStatus(itemId: string, lang: string): boolean;
  listItemStatuses(): StoredItemStatus[];
  addRater(name: string): void;
  listRaters(): string[];
  putRating(rating: Omit<StoredRating, "updatedAt">): void;
  listRatings(): StoredRating[];
  putVote(vote: Omit<StoredVote, "updatedAt">): void;
  listVotes(): StoredVote[];
  close(): void;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS corrections (
  lang TEXT NOT NULL, unit TEXT NOT NULL, translation TEXT NOT NULL, original TEXT NOT NULL,
  item_id TEXT NOT NULL, turn INTEGER NOT NULL, segment INTEGER NOT NULL, updated_at TEXT NOT NULL,
  PRIMARY KEY (lang, unit));
CREATE TABLE IF NOT EXISTS item_status (
  item_id TEXT NOT NULL, lang TEXT NOT NULL, status TEXT NOT NULL CHECK (status IN ('accepted', 'localise')),
  note TEXT NOT NULL, updated_at TEXT NOT NULL, PRIMARY KEY (item_id, lang));
CREATE TABLE IF NOT EXISTS raters (name TEXT PRIMARY KEY, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS ratings (
  rater TEXT NOT NULL, question_id TEXT NOT NULL, lang TEXT NOT NULL, model TEXT NOT NULL, turn INTEGER NOT NULL,
  score INTEGER NOT NULL CHECK (score BETWEEN 1 AND 10), updated_at TEXT NOT NULL,
  PRIMARY KEY (rater, question_id, lang, model, turn));
CREATE TABLE IF NOT EXISTS votes (
  rater TEXT NOT NULL, question_id TEXT NOT NULL, lang TEXT NOT NULL, model_a TEXT NOT NULL, model_b TEXT NOT NULL,
  turn INTEGER NOT NULL, winner TEXT NOT NULL CHECK (winner IN ('model_a', 'model_b', 'tie')), updated_at TEXT NOT NULL,
  PRIMARY KEY (rater, question_id, lang, model_a, model_b, turn));
`;

/** Opens (or creates) the review database at `path`. */
export function openReviewStore(options: { path: string; now?: () => Date }): ReviewStore {
  const now = (): string => (options.now ?? (() => new Date()))().toISOString();
  mkdirSync(dirname(options.path), { recursive: true });
  const database = new Database(options.path);
  database.pragma("journal_mode = WAL");
  // FULL: the WAL is synced at every commit, so an acknowledged edit survives even a power cut.
  database.pragma("synchronous = FULL");
  database.pragma("busy_timeout = 5000");
  database.exec(SCHEMA);

  const statements = {
    putCorrection: database.prepare(
      `INSERT INTO corrections (lang, unit, translation, original, item_id, turn, segment, updated_at)
       VALUES (@lang, @unit, @translation, @original, @itemId, @turn, @segment, @updatedAt)
       ON CONFLICT (lang, unit) DO UPDATE SET translation = excluded.translation, item_id = excluded.item_id,
         turn = excluded.turn, segment = excluded.segment, updated_at = excluded.updated_at`,
    ),
    deleteCorrection: database.prepare("DELETE FROM corrections WHERE lang = ? AND unit = ?"),
    listCorrections: database.prepare(
      "SELECT lang, unit, translation, original, item_id AS itemId, turn, segment, updated_at AS updatedAt FROM corrections ORDER BY lang, item_id, turn, segment, unit",
    ),
    putItemStatus: database.prepare(
      `INSERT INTO item_status (item_id, lang, status, note, updated_at) VALUES (@itemId, @lang, @status, @note, @updatedAt)
       ON CONFLICT (item_id, lang) DO UPDATE SET status = excluded.status, note = excluded.note, updated_at = excluded.updated_at`,
    ),
    deleteItemStatus: database.prepare("DELETE FROM item_status WHERE item_id = ? AND lang = ?"),
    listItemStatuses: database.prepare("SELECT item_id AS itemId, lang, status, note, updated_at AS updatedAt FROM item_status ORDER BY lang, item_id"),
    addRater: database.prepare("INSERT INTO raters (name, created_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING"),
    listRaters: database.prepare("SELECT name FROM raters ORDER BY name"),
    putRating: database.prepare(
      `INSERT INTO ratings (rater, question_id, lang, model, turn, score, updated_at) VALUES (@rater, @questionId, @lang, @model, @turn, @score, @updatedAt)
       ON CONFLICT (rater, question_id, lang, model, turn) DO UPDATE SET score = excluded.score, updated_at = excluded.updated_at`,
    ),
    listRatings: database.prepare(
      "SELECT rater, question_id AS questionId, lang, model, turn, score, updated_at AS updatedAt FROM ratings ORDER BY rater, lang, question_id, model, turn",
    ),
    putVote: database.prepare(
      `INSERT INTO votes (rater, question_id, lang, model_a, model_b, turn, winner, updated_at)
       VALUES (@rater, @questionId, @lang, @modelA, @modelB, @turn, @winner, @updatedAt)
       ON CONFLICT (rater, question_id, lang, model_a, model_b, turn) DO UPDATE SET winner = excluded.winner, updated_at = excluded.updated_at`,
    ),
    listVotes: database.prepare(
      "SELECT rater, question_id AS questionId, lang, model_a AS modelA, model_b AS modelB, turn, winner, updated_at AS updatedAt FROM votes ORDER BY rater, lang, question_id, model_a, model_b, turn",
    ),
  };

  return {
    path: options.path,
    putCorrection: (correction) => void statements.putCorrection.run({ ...correction, updatedAt: now() }),
    deleteCorrection: (lang, unit) => statements.deleteCorrection.run(lang, unit).changes > 0,
    listCorrections: () => statements.listCorrections.all() as StoredCorrection[],
    putItemStatus: (status) => void statements.putItemStatus.run({ ...status, updatedAt: now() }),
    deleteItemStatus: (itemId, lang) => statements.deleteItemStatus.run(itemId, lang).changes > 0,
    listItemStatuses: () => statements.listItemStatuses.all() as StoredItemStatus[],
    addRater: (name) => void statements.addRater.run(name, now()),
    listRaters: () => (statements.listRaters.all() as { name: string }[]).map((row) => row.name),
    putRating: (rating) => void statements.putRating.run({ ...rating, updatedAt: now() }),
    listRatings: () => statements.listRatings.all() as StoredRating[],
    putVote: (vote) => void statements.putVote.run({ ...vote, updatedAt: now() }),
    listVotes: () => statements.listVotes.all() as StoredVote[],
    close: () => database.close(),
  };
}
