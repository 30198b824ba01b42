/** Messages between the training process and the W&B worker thread (structured-cloned, so always copies). */
export type ToWandbWorker =
  | {
      type: 'init';
      apiKey: string;
      baseUrl: string;
      run: {
        id: string;
        project: string;
        entity?: string;
        /** Display name. */
        name: string;
        config: Record<string, unknown>;
        tags: string[];
        /** W&B sweep id (WANDB_SWEEP_ID): the run is created in it. */
        sweep?: string;
        /** W&B run group (WANDB_RUN_GROUP). */
        group?: string;
      };
    }
  | { type: 'log'; row: Record<string, number | null>; step: number }
  | { type: 'finish'; exitCode: number; summary: Record<string, unknown> };

export type FromWandbWorker =
  | {
      type: 'ready';
      entity: string;
      project: string;
      id: string;
      url: string;
      /** Process listeners the SDK's init added (SIGTERM, SIGINT, beforeExit) that were removed again. */
      listenersRemoved: string[];
    }
  | { type: 'init-failed'; error: string; listenersRemoved: string[] }
  /** An HTTP answer >= 400 from the W&B server (the SDK drops most of these silently). */
  | { type: 'http-error'; method: string; path: string; status: number }
  | { type: 'warning'; message: string }
  | { type: 'finished'; error?: string };
