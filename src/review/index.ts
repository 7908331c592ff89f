export * from "./start-review";
export { TRANSLATION_EXPORTS, RATING_EXPORTS } from "./export-review";
export { TOKEN_HEADER, MAX_BODY_BYTES } from "./review-server";
