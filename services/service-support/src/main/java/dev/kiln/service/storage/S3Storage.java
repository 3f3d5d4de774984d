package dev.kiln.service.storage;

import dev.kiln.service.config.KilnConfig;
import io.minio.BucketExistsArgs;
import io.minio.GetObjectArgs;
import io.minio.http.HttpUtils;
import io.minio.ListObjectsArgs;
import io.minio.MakeBucketArgs;
import io.minio.MinioClient;
import io.minio.PutObjectArgs;
import io.minio.RemoveObjectArgs;
import io.minio.Result;
import io.minio.StatObjectArgs;
import io.minio.StatObjectResponse;
import io.minio.UploadObjectArgs;
import io.minio.errors.ErrorResponseException;
import io.minio.errors.ServerException;
import io.minio.messages.Item;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import okhttp3.OkHttpClient;
import org.jboss.logging.Logger;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * The one S3 component every service uses (MinIO Java client), bound to the configured bucket.
 *
 * <p>Objects stream in and out: nothing holds a whole object on the heap (a stream of unknown size is
 * uploaded in parts of {@code kiln.s3.part-size}). Operations whose request can be replayed are retried
 * with exponential backoff on transient failures (I/O errors, HTTP 5xx, {@code SlowDown}), never on 4xx.
 * An upload from a caller's stream is tried once, since the stream cannot be rewound; {@link #putFile}
 * is retried. Every failure is a {@link StorageException} naming the bucket and key.
 */
@ApplicationScoped
public class S3Storage {
    private static final Logger LOG = Logger.getLogger(S3Storage.class);
    private static final String DEFAULT_CONTENT_TYPE = "application/octet-stream";
    private static final Duration MAX_BACKOFF = Duration.ofSeconds(5);
    private static final Duration PROBE_TIMEOUT = Duration.ofSeconds(2);
    /** S3 error codes that mean "try again later" even when the status is not 5xx. */
    private static final Set<String> TRANSIENT_CODES = Set.of(
            "SlowDown", "InternalError", "ServiceUnavailable", "RequestTimeout", "RequestTimeTooSkewed");
    private static final Set<String> NOT_FOUND_CODES = Set.of("NoSuchKey", "NoSuchBucket", "NoSuchObject");

    private final MinioClient client;
    /** Same store, short timeouts and no retries: for health checks that must answer quickly. */
    private final MinioClient probeClient;
    private final String endpoint;
    private final String bucket;
    private final KilnConfig.S3 settings;
    private final Redactor redactor;

    @Inject
    public S3Storage(KilnConfig config) {
        this.settings = config.s3();
        this.endpoint = settings.endpoint();
        this.bucket = config.bucket();
        String accessKey = settings.accessKey().filter(s -> !s.isBlank()).orElseThrow(() ->
                new IllegalStateException("kiln.s3.access-key (env KILN_S3_ACCESS_KEY) is not set"));
        String secretKey = settings.secretKey().filter(s -> !s.isBlank()).orElseThrow(() ->
                new IllegalStateException("kiln.s3.secret-key (env KILN_S3_SECRET_KEY) is not set"));
        if (settings.maxAttempts() < 1) {
            throw new IllegalStateException("kiln.s3.max-attempts must be at least 1, was " + settings.maxAttempts());
        }
        this.redactor = new Redactor(accessKey, secretKey);
        // one HTTP client (connection pool, TLS setup) shared by both MinIO clients
        OkHttpClient http = HttpUtils.newDefaultHttpClient(TimeUnit.SECONDS.toMillis(10),
                TimeUnit.MINUTES.toMillis(5), TimeUnit.MINUTES.toMillis(5));
        OkHttpClient probeHttp = http.newBuilder().connectTimeout(PROBE_TIMEOUT)
                .readTimeout(PROBE_TIMEOUT).writeTimeout(PROBE_TIMEOUT).build();
        try {
            this.client = MinioClient.builder().endpoint(endpoint).credentials(accessKey, secretKey)
                    .region(settings.region()).httpClient(http).build();
            this.probeClient = MinioClient.builder().endpoint(endpoint).credentials(accessKey, secretKey)
                    .region(settings.region()).httpClient(probeHttp).build();
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException("kiln.s3.endpoint is not a valid URL: " + endpoint, e);
        }
    }

    void onStart(@Observes StartupEvent event) {
        if (!settings.createBucket()) {
            return;
        }
        try {
            ensureBucket();
        } catch (StorageException e) {
            // keep running: readiness reports S3 DOWN until the store answers
            LOG.warnf("cannot make sure bucket '%s' exists at %s: %s", bucket, endpoint, e.getMessage());
        }
    }

    public String bucket() {
        return bucket;
    }

    /** The store's URL (no credentials in it). */
    public String endpoint() {
        return endpoint;
    }

    /** Creates the bucket unless it exists. */
    public void ensureBucket() {
        retrying("create bucket", null, () -> {
            if (!client.bucketExists(BucketExistsArgs.builder().bucket(bucket).build())) {
                try {
                    client.makeBucket(MakeBucketArgs.builder().bucket(bucket).region(settings.region()).build());
                    LOG.infof("created bucket '%s' at %s", bucket, endpoint);
                } catch (ErrorResponseException e) {
                    if (!"BucketAlreadyOwnedByYou".equals(e.errorResponse().code())) {
                        throw e;
                    }
                }
            }
            return null;
        });
    }

    /**
     * One quick round trip (short timeouts, no retries) for health checks.
     *
     * @return whether the bucket exists
     * @throws StorageException when the store does not answer or refuses the request
     */
    public boolean probeBucket() {
        return attempt("probe bucket", null, () -> probeClient.bucketExists(BucketExistsArgs.builder().bucket(bucket).build()));
    }

    /** Opens the object for reading; the caller closes the stream. Opening is retried, reading is not. */
    public InputStream get(String key) {
        return retrying("get", key, () -> client.getObject(GetObjectArgs.builder().bucket(bucket).object(key).build()));
    }

    /** Downloads the object to {@code target} (through a temporary file beside it, then an atomic move). */
    public void getToFile(String key, Path target) {
        Path dir = target.toAbsolutePath().getParent();
        retrying("get", key, () -> {
            Files.createDirectories(dir);
            Path partial = Files.createTempFile(dir, ".download-", ".part");
            try {
                try (InputStream in = client.getObject(GetObjectArgs.builder().bucket(bucket).object(key).build());
                     OutputStream out = Files.newOutputStream(partial)) {
                    in.transferTo(out);
                }
                Files.move(partial, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } finally {
                Files.deleteIfExists(partial);
            }
            return null;
        });
    }

    /**
     * Uploads from a stream, tried once (a stream cannot be replayed).
     *
     * @param size the exact byte count, or {@code -1} when unknown (then uploaded in parts of
     *             {@code kiln.s3.part-size}; a known size uses the client's own part size)
     * @return the new object's ETag
     */
    public String put(String key, InputStream in, long size, String contentType) {
        long partSize = size < 0 ? settings.partSize() : -1;
        return unquote(attempt("put", key, () -> client.putObject(PutObjectArgs.builder().bucket(bucket).object(key)
                .stream(in, size, partSize).contentType(contentTypeOrDefault(contentType)).build())).etag());
    }

    /** Uploads a local file (multipart when large), retried on transient failures. Returns the ETag. */
    public String putFile(String key, Path file, String contentType) {
        if (!Files.isRegularFile(file)) {
            throw new StorageException("put", bucket, key, "not a readable file: " + file, false, null);
        }
        return unquote(retrying("put", key, () -> client.uploadObject(UploadObjectArgs.builder().bucket(bucket)
                .object(key).filename(file.toString()).contentType(contentTypeOrDefault(contentType)).build())).etag());
    }

    /** Size, ETag, modification time and content type; {@link StorageException#isNotFound()} when absent. */
    public ObjectInfo stat(String key) {
        StatObjectResponse stat = retrying("stat", key,
                () -> client.statObject(StatObjectArgs.builder().bucket(bucket).object(key).build()));
        return new ObjectInfo(key, stat.size(), unquote(stat.etag()), stat.lastModified().toInstant(),
                stat.contentType());
    }

    /** Whether the object exists. */
    public boolean exists(String key) {
        try {
            stat(key);
            return true;
        } catch (StorageException e) {
            if (e.isNotFound()) {
                return false;
            }
            throw e;
        }
    }

    /**
     * The objects under {@code prefix}; with {@code recursive} false only the objects directly in that
     * "folder" (sub-folders are left out). The listing is retried as a whole.
     */
    public List<ObjectInfo> list(String prefix, boolean recursive) {
        return retrying("list", prefix, () -> {
            List<ObjectInfo> objects = new ArrayList<>();
            for (Result<Item> result : client.listObjects(ListObjectsArgs.builder().bucket(bucket)
                    .prefix(prefix).recursive(recursive).build())) {
                Item item = result.get();
                if (!item.isDir()) {
                    objects.add(new ObjectInfo(item.objectName(), item.size(), unquote(item.etag()),
                            item.lastModified() == null ? null : item.lastModified().toInstant(), null));
                }
            }
            return objects;
        });
    }

    /** Deletes the object; deleting an absent object succeeds, as in S3. */
    public void delete(String key) {
        retrying("delete", key, () -> {
            client.removeObject(RemoveObjectArgs.builder().bucket(bucket).object(key).build());
            return null;
        });
    }

    private static String contentTypeOrDefault(String contentType) {
        return contentType == null || contentType.isBlank() ? DEFAULT_CONTENT_TYPE : contentType;
    }

    static String unquote(String eTag) {
        if (eTag == null) {
            return null;
        }
        return eTag.startsWith("\"") && eTag.endsWith("\"") && eTag.length() >= 2
                ? eTag.substring(1, eTag.length() - 1) : eTag;
    }

    @FunctionalInterface
    private interface S3Call<T> {
        T run() throws Exception;
    }

    private <T> T attempt(String operation, String key, S3Call<T> call) {
        try {
            return call.run();
        } catch (Exception e) {
            throw failure(operation, key, e);
        }
    }

    private <T> T retrying(String operation, String key, S3Call<T> call) {
        long backoffMillis = settings.retryBackoff().toMillis();
        for (int attemptNo = 1; ; attemptNo++) {
            try {
                return call.run();
            } catch (Exception e) {
                StorageException failure = failure(operation, key, e);
                if (!isTransient(e) || attemptNo >= settings.maxAttempts()) {
                    throw failure;
                }
                long delay = Math.min(backoffMillis << (attemptNo - 1), MAX_BACKOFF.toMillis());
                delay += ThreadLocalRandom.current().nextLong(delay / 4 + 1); // jitter: spread out retrying clients
                LOG.debugf("retrying in %d ms (attempt %d of %d): %s", delay, attemptNo + 1,
                        settings.maxAttempts(), failure.getMessage());
                sleep(delay, operation, key);
            }
        }
    }

    private void sleep(long millis, String operation, String key) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StorageException(operation, bucket, key, "interrupted while waiting to retry", false, e);
        }
    }

    /** I/O errors, 5xx and S3's "slow down"/"internal error" codes; never 4xx. */
    static boolean isTransient(Exception e) {
        if (e instanceof ErrorResponseException error) {
            int status = error.response() == null ? 0 : error.response().code();
            return status >= 500 || TRANSIENT_CODES.contains(error.errorResponse().code());
        }
        if (e instanceof ServerException server) {
            return server.statusCode() >= 500;
        }
        return e instanceof IOException;
    }

    private StorageException failure(String operation, String key, Exception e) {
        if (e instanceof StorageException storage) {
            return storage;
        }
        String detail;
        boolean notFound = false;
        if (e instanceof ErrorResponseException error) {
            String code = error.errorResponse().code();
            notFound = NOT_FOUND_CODES.contains(code);
            int status = error.response() == null ? 0 : error.response().code();
            detail = code + " (HTTP " + status + "): " + error.errorResponse().message();
        } else if (e instanceof IOException) {
            detail = "cannot reach " + endpoint + ": " + e.getClass().getSimpleName() + ": " + e.getMessage();
        } else {
            detail = e.getClass().getSimpleName() + ": " + e.getMessage();
        }
        // MinIO's exceptions print the request (headers included) in toString(), so only plain I/O errors
        // are kept as the cause; the message is ours and redacted
        Throwable cause = e instanceof IOException ? e : null;
        return new StorageException(operation, bucket, key, redactor.redact(detail), notFound, cause);
    }

    /** Removes credentials from text that could echo them (server messages, client traces). */
    record Redactor(String accessKey, String secretKey) {
        String redact(String text) {
            if (text == null) {
                return "";
            }
            String result = text;
            for (String secret : new String[] {secretKey, accessKey}) {
                if (secret != null && secret.length() >= 4) {
                    result = result.replace(secret, "***");
                }
            }
            return result;
        }

        @Override
        public String toString() {
            return "Redactor[***]";
        }
    }
}
