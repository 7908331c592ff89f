import type { ProviderPrice } from "./translation-provider";

/** A cost estimate. */
export interface CostEstimate {
  readonly amount: number;
  readonly currency: string;
  readonly perMillionCharacters: number;
}

/** Price of `characters` billed characters (rounded to cents). */
export function estimateCost(characters: number, price: ProviderPrice | undefined): CostEstimate | null {
  if (!price) return null;
  return {
    amount: Math.round((characters / 1_000_000) * price.perMillionCharacters * 100) / 100,
    currency: price.currency,
    perMillionCharacters: price.perMillionCharacters,
  };
}
