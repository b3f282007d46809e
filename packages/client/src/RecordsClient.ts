/**
 * `RecordsClient`: the Effect service through which applications use batchwrite (SPEC §3). Batch writes are posted
 * as the exact JSON text `core`'s `Batching` built (never serialized twice) with an `Idempotency-Key` kept on every
 * attempt; every other route goes through the typed client of the `packages/api` contract. Every call is retried
 * with the retry schedule where SPEC §3 allows it, and every failure is one of the errors of `Errors.ts`.
 */
import { AcceptedBatchResponse, BatchwriteApi, basePath, clientBaseUrl, JobResponse, preferWait } from "@batchwrite/api"
import { Batching, Job, Keys, type ObjectSchema, type RowError, type StoredRecord } from "@batchwrite/core"
import {
  FetchHttpClient,
  HttpApiClient,
  HttpBody,
  HttpClient,
  type HttpClientError,
  HttpClientRequest
} from "@effect/platform"
import {
  Chunk,
  Config,
  type ConfigError,
  Duration,
  Effect,
  Either,
  Layer,
  Metric,
  Option,
  Redacted,
  Schedule,
  Schema,
  Stream
} from "effect"
import * as ClientMetrics from "./ClientMetrics.js"
import {
  fromCallError,
  fromErrorResponse,
  fromHttpClientError,
  InvalidRequest,
  isRetryable,
  JobFailed,
  JobTimeout,
  malformedResponse,
  type RecordsClientError,
  type RequestError,
  TransportError
} from "./Errors.js"
import { defaultPollTimeout, pollPolicy, retryPolicy } from "./Policies.js"
import { type WriteInput, type WriteOptions, type WriteSummary, write } from "./Write.js"

/** How to reach the service and how patient to be. */
export interface RecordsClientOptions {
  /** The API URL, with or without the `/public/v1` base path: `http://127.0.0.1:8787/public/v1`. */
  readonly baseUrl: string | URL
  /** The bearer token. */
  readonly token: string | Redacted.Redacted<string>
  /** When to retry a failed request; default {@link retryPolicy}(). Only SPEC §3's retryable failures recur. */
  readonly retry?: Schedule.Schedule<unknown, RecordsClientError> | undefined
  /** How to poll a job; default {@link pollPolicy}(). */
  readonly poll?: Schedule.Schedule<Job.Job, Job.Job> | undefined
  /** How long `awaitJob` polls before `JobTimeout`; default 120 s. */
  readonly pollTimeout?: Duration.DurationInput | undefined
  /** How long one request may take before it counts as a `TransportError`; default 60 s. */
  readonly requestTimeout?: Duration.DurationInput | undefined
}

/** A job to wait for: an `AcceptedBatch`, a `Job`, a `JobTimeout`, or any `{ objectName, jobId }`. */
export interface JobRef {
  readonly objectName: string
  readonly jobId: string
}

/** When to retry a failed request, for one call: replaces the client's `retry`; `Schedule.stop` never retries. */
export interface RetryOverride {
  readonly retry?: Schedule.Schedule<unknown, RecordsClientError> | undefined
}

/** Options of a batch write. */
export interface BatchOptions extends RetryOverride {
  /** The `Idempotency-Key`; default `Keys.batchIdempotencyKey(records)`, the hosted API's recipe. */
  readonly idempotencyKey?: string | undefined
}

/** Options of `awaitJob`. */
export interface AwaitJobOptions extends RetryOverride {
  /** How to poll; default the client's `poll`. */
  readonly schedule?: Schedule.Schedule<Job.Job, Job.Job> | undefined
  /** How long to poll before `JobTimeout`; default the client's `pollTimeout`. */
  readonly timeout?: Duration.DurationInput | undefined
  /**
   * Long-poll instead of polling with `schedule`: each `GET` asks the service to hold its answer until the job is
   * terminal, up to this long (`Prefer: wait=N`, N at most 30 s and under half the request timeout), and the next
   * `GET` follows 200 ms after a non-terminal answer. Fewer requests, and the outcome as soon as the job ends.
   */
  readonly longPoll?: Duration.DurationInput | undefined
}

/** Options of an upsert batch. */
export interface UpsertOptions extends BatchOptions {
  /** The match key the records merge by: one of the object's `matchKeys`. */
  readonly matchKey: string
}

/** Options of a page read. */
export interface PageOptions {
  /** Most items in the page, 1 to 1,000; default 100. */
  readonly limit?: number | undefined
  /** The `nextCursor` of the previous page. */
  readonly cursor?: string | undefined
}

/** Options of `listRecords`: a page, and `{field: value}` filters (a match key and its value). */
export interface ListRecordsOptions extends PageOptions {
  readonly filter?: Readonly<Record<string, string>> | undefined
}

const decodeAccepted = Schema.decodeUnknownEither(Schema.parseJson(AcceptedBatchResponse))
const decodeJob = Schema.decodeUnknownEither(Schema.parseJson(JobResponse))

/** The `202` of a batch, or the job of a `200` (`Prefer: wait`) seen as its acceptance. */
const readBatchResponse = (
  status: number,
  headers: Readonly<Record<string, string>>,
  text: string,
  sentBytes: number
): Effect.Effect<Job.AcceptedBatch, RequestError> => {
  if (status === 202) {
    const decoded = decodeAccepted(text)
    return Either.isRight(decoded)
      ? Effect.succeed(decoded.right.data)
      : Effect.fail(malformedResponse(status, decoded.left))
  }
  if (status === 200) {
    const decoded = decodeJob(text)
    if (Either.isLeft(decoded)) return Effect.fail(malformedResponse(status, decoded.left))
    const job = decoded.right.data
    return Effect.succeed({
      operation: job.operation,
      objectName: job.objectName,
      jobId: job.jobId,
      state: job.state,
      acceptedRecords: job.acceptedRecords,
      statusPath: Job.jobStatusPath(job.objectName, job.jobId)
    })
  }
  return Effect.fail(fromErrorResponse(status, headers, text, sentBytes))
}

const make = (options: RecordsClientOptions) =>
  Effect.gen(function* () {
    const origin = clientBaseUrl(options.baseUrl)
    const token = typeof options.token === "string" ? Redacted.make(options.token) : options.token
    const retry = options.retry ?? retryPolicy()
    const poll = options.poll ?? pollPolicy()
    const pollTimeout = options.pollTimeout ?? defaultPollTimeout
    const requestTimeout = Duration.decode(options.requestTimeout ?? "60 seconds")
    const authorize = HttpClientRequest.bearerToken(Redacted.value(token))
    const http = (yield* HttpClient.HttpClient).pipe(HttpClient.mapRequest(authorize))
    const api = yield* HttpApiClient.make(BatchwriteApi, { baseUrl: origin }).pipe(
      Effect.provideService(HttpClient.HttpClient, http)
    )

    /** One attempt, bounded by the request timeout; then retried where SPEC §3 allows, each retry counted. */
    const retried = <A>(
      attempt: Effect.Effect<A, RequestError>,
      schedule: Schedule.Schedule<unknown, RecordsClientError> = retry
    ): Effect.Effect<A, RequestError> =>
      attempt.pipe(
        Effect.timeoutFail({
          duration: requestTimeout,
          onTimeout: () => new TransportError({ message: `no answer within ${Duration.format(requestTimeout)}` })
        }),
        Effect.retry({
          schedule: schedule.pipe(
            Schedule.onDecision((_, decision) =>
              decision._tag === "Continue" ? Metric.increment(ClientMetrics.retries) : Effect.void
            )
          ),
          while: isRetryable
        })
      )

    /** A call of the typed client, its failures mapped and retried. */
    const call = <A, E extends Parameters<typeof fromCallError>[0]>(
      attempt: Effect.Effect<A, E>,
      schedule?: Schedule.Schedule<unknown, RecordsClientError>
    ): Effect.Effect<A, RequestError> => retried(Effect.catchAll(attempt, fromCallError), schedule)

    const postBatch = (
      objectName: string,
      body: string,
      matchKey: string | undefined,
      idempotencyKey: string,
      schedule: Schedule.Schedule<unknown, RecordsClientError> | undefined,
      records: number
    ): Effect.Effect<Job.AcceptedBatch, RequestError> => {
      const operation = matchKey === undefined ? "append-batch" : "upsert-batch"
      const request = HttpClientRequest.post(
        `${origin}${basePath}/records/${encodeURIComponent(objectName)}/${operation}`
      ).pipe(
        HttpClientRequest.setHeader("idempotency-key", idempotencyKey),
        // The text as it is: fetch encodes it once (bodyText would make a copy of every body first).
        HttpClientRequest.setBody(HttpBody.raw(body, { contentType: "application/json" }))
      )
      const sentBytes = Batching.utf8Length(body)
      return retried(
        http.execute(request).pipe(
          Effect.flatMap((response) =>
            Effect.map(response.text, (text) => ({ status: response.status, headers: response.headers, text }))
          ),
          Effect.catchAll((error: HttpClientError.HttpClientError) => fromHttpClientError(error)),
          Effect.flatMap(({ headers, status, text }) => readBatchResponse(status, headers, text, sentBytes))
        ),
        schedule
      ).pipe(
        Effect.tap((accepted) => Effect.annotateCurrentSpan("batchwrite.job_id", accepted.jobId)),
        Effect.withSpan("batchwrite.sendBatch", {
          kind: "client",
          attributes: {
            "batchwrite.object": objectName,
            "batchwrite.mode": matchKey === undefined ? "append" : "upsert",
            "batchwrite.records": records,
            "batchwrite.bytes": sentBytes
          }
        })
      )
    }

    const bodyOf = (
      records: ReadonlyArray<unknown>,
      matchKey: string | undefined
    ): Effect.Effect<string, InvalidRequest> =>
      Effect.try({
        try: () => JSON.stringify(matchKey === undefined ? { records } : { records, matchKey }),
        catch: (error) => new InvalidRequest({ message: `the records are not JSON: ${String(error)}` })
      })

    const sendBatch = (
      objectName: string,
      batch: Pick<Batching.Batch<unknown>, "body" | "matchKey" | "records">,
      batchOptions: BatchOptions = {}
    ): Effect.Effect<Job.AcceptedBatch, RequestError> =>
      Effect.suspend(() =>
        postBatch(
          objectName,
          batch.body,
          batch.matchKey,
          batchOptions.idempotencyKey ?? Keys.batchIdempotencyKey(batch.records),
          batchOptions.retry,
          batch.records.length
        )
      )

    const appendBatch = (
      objectName: string,
      records: ReadonlyArray<unknown>,
      batchOptions: BatchOptions = {}
    ): Effect.Effect<Job.AcceptedBatch, RequestError> =>
      Effect.flatMap(bodyOf(records, undefined), (body) =>
        sendBatch(objectName, { body, records, matchKey: undefined }, batchOptions)
      )

    const upsertBatch = (
      objectName: string,
      records: ReadonlyArray<unknown>,
      upsertOptions: UpsertOptions
    ): Effect.Effect<Job.AcceptedBatch, RequestError> =>
      Effect.flatMap(bodyOf(records, upsertOptions.matchKey), (body) =>
        sendBatch(objectName, { body, records, matchKey: upsertOptions.matchKey }, upsertOptions)
      )

    const getJob = (
      objectName: string,
      jobId: string,
      getOptions: RetryOverride & { readonly waitSeconds?: number | undefined } = {}
    ): Effect.Effect<Job.Job, RequestError> =>
      call(
        api.jobs.getJob({
          path: { object: objectName, jobId },
          headers: getOptions.waitSeconds === undefined ? {} : { prefer: preferWait(getOptions.waitSeconds) }
        }),
        getOptions.retry
      ).pipe(Effect.map((response) => response.data))

    /** The seconds a long-poll asks the service to hold an answer: at most 30 and under half the request timeout. */
    const longPollSeconds = (longPoll: Duration.DurationInput): number =>
      Math.max(
        1,
        Math.min(30, Math.floor(Duration.toSeconds(longPoll)), Math.floor(Duration.toSeconds(requestTimeout) / 2))
      )

    /** Between long-poll answers: at once while the service held the answer, and a short wait if it did not. */
    const longPollRepeat = Schedule.identity<Job.Job>().pipe(
      Schedule.zipLeft(Schedule.spaced("200 millis")),
      Schedule.whileInput((job: Job.Job) => !Job.isTerminal(job.state))
    )

    const awaitJob = (job: JobRef, awaitOptions: AwaitJobOptions = {}): Effect.Effect<Job.Job, RecordsClientError> =>
      (awaitOptions.longPoll === undefined
        ? getJob(job.objectName, job.jobId, { retry: awaitOptions.retry }).pipe(
            Effect.repeat(awaitOptions.schedule ?? poll)
          )
        : getJob(job.objectName, job.jobId, {
            retry: awaitOptions.retry,
            waitSeconds: longPollSeconds(awaitOptions.longPoll)
          }).pipe(Effect.repeat(longPollRepeat))
      ).pipe(
        Effect.timeoutFail({
          duration: awaitOptions.timeout ?? pollTimeout,
          onTimeout: () =>
            new JobTimeout({
              message: `job ${job.jobId} is not done after ${Duration.format(awaitOptions.timeout ?? pollTimeout)}; it is durable, poll it again later`,
              jobId: job.jobId,
              objectName: job.objectName
            })
        }),
        Effect.flatMap((done) =>
          done.state === "failed"
            ? Effect.fail(
                new JobFailed({
                  message: done.failure?.message ?? `job ${done.jobId} failed`,
                  code: done.failure?.code ?? "CDP_ETL.JOB.FAILED",
                  jobId: done.jobId,
                  objectName: done.objectName
                })
              )
            : Effect.succeed(done)
        ),
        Effect.withSpan("batchwrite.awaitJob", {
          kind: "client",
          attributes: { "batchwrite.object": job.objectName, "batchwrite.job_id": job.jobId }
        })
      )

    const jobErrors = (
      job: JobRef,
      pageOptions: RetryOverride & { readonly pageSize?: number | undefined } = {}
    ): Stream.Stream<RowError.RowErrorWithRecord, RequestError> =>
      Stream.paginateChunkEffect(undefined as string | undefined, (cursor) =>
        call(
          api.jobs.listJobErrors({
            path: { object: job.objectName, jobId: job.jobId },
            urlParams: { limit: pageOptions.pageSize ?? 1_000, ...(cursor === undefined ? {} : { cursor }) }
          }),
          pageOptions.retry
        ).pipe(
          Effect.map(
            (page) => [Chunk.fromIterable(page.data.errors), Option.fromNullable(page.data.nextCursor)] as const
          )
        )
      )

    const listRecords = (
      objectName: string,
      listOptions: ListRecordsOptions = {}
    ): Effect.Effect<StoredRecord.RecordsPage, RequestError> =>
      call(
        api.records.listRecords({
          path: { object: objectName },
          urlParams: {
            ...listOptions.filter,
            ...(listOptions.limit === undefined ? {} : { limit: listOptions.limit }),
            ...(listOptions.cursor === undefined ? {} : { cursor: listOptions.cursor })
          }
        })
      ).pipe(Effect.map((response) => response.data))

    const allRecords = (
      objectName: string,
      listOptions: Omit<ListRecordsOptions, "cursor"> = {}
    ): Stream.Stream<StoredRecord.StoredRecord, RequestError> =>
      Stream.paginateChunkEffect(undefined as string | undefined, (cursor) =>
        listRecords(objectName, { limit: 1_000, ...listOptions, cursor }).pipe(
          Effect.map((page) => [Chunk.fromIterable(page.records), Option.fromNullable(page.nextCursor)] as const)
        )
      )

    const listObjects: Effect.Effect<ReadonlyArray<ObjectSchema.ObjectDefinition>, RequestError> = call(
      api.objects.listObjects()
    ).pipe(Effect.map((response) => response.data.objects))

    const getObject = (name: string): Effect.Effect<ObjectSchema.ObjectDefinition, RequestError> =>
      call(api.objects.getObject({ path: { name } })).pipe(Effect.map((response) => response.data))

    const putObject = (
      name: string,
      definition: ObjectSchema.ObjectDefinitionInput
    ): Effect.Effect<ObjectSchema.ObjectDefinition, RequestError> =>
      call(api.objects.putObject({ path: { name }, payload: definition })).pipe(Effect.map((response) => response.data))

    const sender = { sendBatch, awaitJob, jobErrors }

    return {
      /** Appends records as new rows; resolves with the `202` acceptance. */
      appendBatch,
      /** Upserts records by `matchKey`; resolves with the `202` acceptance. */
      upsertBatch,
      /** Sends a batch `Batching` built, its `body` as it is. */
      sendBatch,
      /** The job as it is now. */
      getJob,
      /** Polls the job until it is terminal; `JobFailed` if it failed, `JobTimeout` after the poll timeout. */
      awaitJob,
      /** Every row error of the job, with its rejected record, page after page. */
      jobErrors,
      /** One page of stored rows, oldest first. */
      listRecords,
      /** Every stored row (matching the filter), oldest first, page after page. */
      allRecords,
      /** Every object of the token's workspace, with its schema. */
      listObjects,
      /** An object and its schema. */
      getObject,
      /** Creates or replaces an object's schema (admin scope). */
      putObject,
      /**
       * Splits any number of records into batches, sends them with bounded concurrency (halving a batch on `413`),
       * waits for their jobs and sums up the outcome; see {@link WriteOptions} and {@link WriteSummary}.
       */
      write: <A, E = never, R = never>(
        objectName: string,
        records: WriteInput<A, E, R>,
        writeOptions: WriteOptions<NoInfer<A>>
      ): Effect.Effect<WriteSummary<A>, E | RecordsClientError, R> => write(sender, objectName, records, writeOptions)
    } as const
  })

/**
 * The batchwrite client service. Build it with {@link RecordsClient.layer} (or `layerConfig` from
 * `BATCHWRITE_URL` / `BATCHWRITE_TOKEN`); both bring a fetch-based `HttpClient`.
 */
export class RecordsClient extends Effect.Service<RecordsClient>()("@batchwrite/client/RecordsClient", {
  effect: make,
  dependencies: [FetchHttpClient.layer]
}) {
  /** The client with these options, on the platform's fetch `HttpClient`. */
  static layer(options: RecordsClientOptions): Layer.Layer<RecordsClient> {
    return RecordsClient.Default(options)
  }

  /**
   * The client from configuration: `BATCHWRITE_URL` (default `http://127.0.0.1:8787/public/v1`, with or without
   * `/public/v1`) and `BATCHWRITE_TOKEN` (secret); the other options as given.
   */
  static layerConfig(
    options: Omit<RecordsClientOptions, "baseUrl" | "token"> = {}
  ): Layer.Layer<RecordsClient, ConfigError.ConfigError> {
    return Layer.unwrapEffect(
      Effect.map(
        Config.all({
          baseUrl: Config.string("BATCHWRITE_URL").pipe(Config.withDefault(defaultUrl)),
          token: Config.redacted("BATCHWRITE_TOKEN")
        }),
        (config) => RecordsClient.Default({ ...options, ...config })
      )
    )
  }
}

/** The API URL when `BATCHWRITE_URL` is not set. */
export const defaultUrl = "http://127.0.0.1:8787/public/v1"
