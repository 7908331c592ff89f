import { join } from "node:path";
import { compositionsOf } from "../study/study-config";
import { selectorMatches, type ExperimentModel, type LoadedExperiment, type TrainingSettings } from "./experiment-config";

/** What a job does; also its stage (jobs of a kind depend only on jobs of earlier kinds). */
export type JobKind = "build" | "bench" | "model" | "train" | "generate" | "judge" | "report";

/** The order of the stages. */
export const JOB_KINDS: readonly JobKind[] = ["build", "bench", "model", "train", "generate", "judge", "report"];

/** One cell of the matrix: a base model trained on one composition of one corpus. */
export interface ExperimentCell {
  model: string;
  corpus: string;
  composition: string;
}

/** One job of the plan. */
export interface ExperimentJob {
  /** Stable id: `train.tiny-a.lima-x.DE`, `generate.tiny-a.lima-x.DE.de`. */
  id: string;
  kind: JobKind;
  /** Ids of the jobs whose outputs it reads. */
  needs: string[];
  /** Output folder, relative to the experiment folder. */
  output: string;
  /** GPUs it needs (0: a CPU job). */
  gpus: number;
  gpuMemoryGb?: number;
  cell?: ExperimentCell;
  /** Evaluation languages of a generation job. */
  languages?: string[];
  /** Model id in answers and judgments: `tiny-a_lima-x_DE`. */
  modelId?: string;
}

/** The expanded experiment. */
export interface ExperimentPlan {
  jobs: ExperimentJob[];
  cells: ExperimentCell[];
  evaluationLanguages: string[];
}

/** The model id of a cell in answers, judgments and reports (composition codes stay tokens of it). */
export function modelIdOf(cell: ExperimentCell): string {
  return `${cell.model}_${cell.corpus}_${cell.composition}`;
}

/** The trainer settings of one cell: experiment, then model, then matching overrides in order. */
export function trainingSettingsOf(experiment: LoadedExperiment, cell: ExperimentCell): TrainingSettings {
  const model = modelOf(experiment, cell.model);
  let settings: TrainingSettings = { ...experiment.config.training, ...(model.training ?? {}) };
  for (const override of experiment.config.trainingOverrides) if (selectorMatches(override, cell)) settings = { ...settings, ...override.training };
  return settings;
}

export function modelOf(experiment: LoadedExperiment, name: string): ExperimentModel {
  const model = experiment.config.models.find((candidate) => candidate.name === name);
  if (!model) throw new Error(`no model named "${name}"`);
  return model;
}

/**
 * Expands the experiment into its jobs: build -> (bench, tiny models) -> train per model x corpus x
 * composition -> generate per run (x language) -> judge per run -> report.
 */
export function planExperiment(experiment: LoadedExperiment): ExperimentPlan {
  const { config, study } = experiment;
  const evaluationLanguages = config.evaluation.languages ?? study.languages;
  const jobs: ExperimentJob[] = [{ id: "build", kind: "build", needs: [], output: "datasets", gpus: 0 }];
  jobs.push({ id: "bench", kind: "bench", needs: [], output: "bench", gpus: 0 });
  for (const model of config.models) {
    if (model.tiny) jobs.push({ id: `model.${model.name}`, kind: "model", needs: ["build"], output: join("models", model.name), gpus: 0 });
  }
  const cells: ExperimentCell[] = [];
  for (const model of config.models) {
    for (const [corpus, corpusConfig] of Object.entries(study.corpora)) {
      for (const composition of compositionsOf(study, corpusConfig)) {
        const cell = { model: model.name, corpus, composition };
        if (config.exclude.some((selector) => selectorMatches(selector, cell))) continue;
        cells.push(cell);
      }
    }
  }
  const judgeIds: string[] = [];
  for (const cell of cells) {
    const model = modelOf(experiment, cell.model);
    const path = join(cell.model, cell.corpus, cell.composition);
    const trainId = `train.${cell.model}.${cell.corpus}.${cell.composition}`;
    jobs.push({
      id: trainId,
      kind: "train",
      needs: ["build", ...(model.tiny ? [`model.${model.name}`] : [])],
      output: join("runs", path),
      gpus: model.gpus,
      ...(model.gpuMemoryGb !== undefined ? { gpuMemoryGb: model.gpuMemoryGb } : {}),
      cell,
    });
    const generationGroups = config.evaluation.generation.jobPerLanguage ? evaluationLanguages.map((lang) => [lang]) : [evaluationLanguages];
    const generateIds: string[] = [];
    for (const languages of generationGroups) {
      const suffix = config.evaluation.generation.jobPerLanguage ? `.${languages[0]}` : "";
      const id = `generate.${cell.model}.${cell.corpus}.${cell.composition}${suffix}`;
      generateIds.push(id);
      jobs.push({
        id,
        kind: "generate",
        needs: [trainId, "bench", ...(model.tiny ? [`model.${model.name}`] : [])],
        output: join("answers", path, ...(suffix ? [languages[0]!] : [])),
        gpus: model.generationGpus,
        cell,
        languages,
        modelId: modelIdOf(cell),
      });
    }
    const judgeId = `judge.${cell.model}.${cell.corpus}.${cell.composition}`;
    judgeIds.push(judgeId);
    jobs.push({ id: judgeId, kind: "judge", needs: [...generateIds, "bench"], output: join("judgments", path), gpus: 0, cell, languages: evaluationLanguages, modelId: modelIdOf(cell) });
  }
  jobs.push({ id: "report", kind: "report", needs: judgeIds, output: "report", gpus: 0 });
  return { jobs, cells, evaluationLanguages };
}

/** The job with this id; throws a clear error otherwise. */
export function findJob(plan: ExperimentPlan, id: string): ExperimentJob {
  const job = plan.jobs.find((candidate) => candidate.id === id);
  if (!job) throw new Error(`no job "${id}" in this experiment's plan`);
  return job;
}

/** Ids of the jobs downstream of `id` (not including it). */
export function downstreamOf(plan: ExperimentPlan, id: string): Set<string> {
  const found = new Set<string>();
  const visit = (current: string) => {
    for (const job of plan.jobs) {
      if (job.needs.includes(current) && !found.has(job.id)) {
        found.add(job.id);
        visit(job.id);
      }
    }
  };
  visit(id);
  return found;
}
