package dev.kiln.cli.bench;

import dev.kiln.cli.stack.ServiceLauncher;
import dev.kiln.diffusion.train.TrainingState;
import dev.kiln.infra.kafka.EmbeddedKafka;
import dev.kiln.infra.process.ServerProcess;
import dev.kiln.infra.s3.EmbeddedS3;
import dev.kiln.model.json.Json;
import dev.kiln.model.notify.S3EventNotifications;
import dev.kiln.model.topics.TopicSpec;
import dev.kiln.model.topics.Topics;
import io.minio.BucketExistsArgs;
import io.minio.GetPresignedObjectUrlArgs;
import io.minio.MakeBucketArgs;
import io.minio.MinioClient;
import io.minio.http.Method;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.ImageOutputStream;
import java.awt.image.BufferedImage;
import java.awt.image.DataBufferInt;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * The ingestion benchmark: N distinct JPEGs generated in-process; a plain single-threaded {@code ImageIO.read} loop
 * over the same files (the baseline, measured first, on an idle machine); then an embedded Kafka broker, an
 * embedded S3 server and the ingestion service (its fast-jar, as {@code kiln up} runs it, scanner off). Each image
 * is uploaded, then announced on {@code kiln.storage.events} as MinIO would; the rate counts from the first upload
 * to the last committed outcome event ({@code read_committed}), the latency of an image from its announcement to its
 * outcome.
 *
 * <p>Both sides are measured warm, as a long-running service is: the decode loop after an untimed pass over a few
 * files, the stack after an untimed round of uploads into another dataset (which runs every path once: uploader,
 * S3 server, service, broker). Without it the measured window of a few tens of seconds is largely JIT compilation
 * in four fresh JVMs sharing the cores.
 */
public final class IngestBenchmark {
    static final String BUCKET = "kiln";
    private static final String FOLDER = "datasets/bench/10_bench/";
    private static final String WARM_UP_FOLDER = "datasets/bench-warm-up/10_bench/";
    private static final Duration READY_TIMEOUT = Duration.ofMinutes(3);
    private static final int UPLOAD_THREADS = 6;

    /** What to run. */
    public record Settings(Path repoRoot, int images, int width, int height, int parallelism, int warmUpImages,
                           Duration timeout, Path workDir) {
    }

    /** What it measured. */
    public record Result(int images, int outcomes, int accepted, long totalBytes, double plainImagesPerSec,
                         double ingestImagesPerSec, double p50Millis, double p99Millis) {
        double ratio() {
            return ingestImagesPerSec / plainImagesPerSec;
        }

        String toJson() {
            return String.format(Locale.ROOT, "{\"images\":%d,\"outcomes\":%d,\"accepted\":%d,\"bytes\":%d,"
                            + "\"plainImagesPerSec\":%.2f,\"ingestImagesPerSec\":%.2f,\"latencyP50Ms\":%.1f,"
                            + "\"latencyP99Ms\":%.1f,\"ingestOverPlain\":%.3f}", images, outcomes, accepted, totalBytes,
                    plainImagesPerSec, ingestImagesPerSec, p50Millis, p99Millis, ratio());
        }
    }

    private final Settings settings;
    private final PrintStream out;

    public IngestBenchmark(Settings settings, PrintStream out) {
        this.settings = settings;
        this.out = out;
    }

    public Result run() throws IOException, InterruptedException {
        Path jar = settings.repoRoot().resolve("services/ingestion/target/quarkus-app/quarkus-run.jar");
        if (!Files.exists(jar)) {
            throw new IllegalStateException(jar + " is missing: build with 'mvn install -DskipTests'");
        }
        boolean temporary = settings.workDir() == null;
        Path work = temporary ? Files.createTempDirectory("kiln-bench-ingest-") : settings.workDir();
        try {
            Path imageDir = Files.createDirectories(work.resolve("images"));
            out.printf("Generating %d JPEGs of %dx%d in %s ...%n", settings.images(), settings.width(),
                    settings.height(), imageDir);
            List<Path> files = generate(imageDir);
            long bytes = 0;
            for (Path f : files) {
                bytes += Files.size(f);
            }
            out.printf("  %d files, %.1f MB (%.0f KB each on average)%n", files.size(), bytes / 1e6,
                    bytes / 1e3 / files.size());
            double plain = plainDecodeRate(files);
            out.printf("Plain ImageIO decode loop (1 thread): %.2f images/s%n", plain);
            Result result = ingest(jar, work, files, bytes, plain);
            out.printf("Ingestion: %d/%d outcomes (%d accepted) at %.2f images/s; latency p50 %.0f ms, p99 %.0f ms%n",
                    result.outcomes(), result.images(), result.accepted(), result.ingestImagesPerSec(),
                    result.p50Millis(), result.p99Millis());
            out.printf("Ratio to the plain decode loop: %.3f (target >= 0.5)%n", result.ratio());
            out.println(result.toJson());
            return result;
        } finally {
            if (temporary) {
                deleteTree(work);
            }
        }
    }

    /** Distinct, photo-like images (smooth colour fields plus grain), so each JPEG is real-sized and unique. */
    private List<Path> generate(Path dir) throws InterruptedException {
        ExecutorService pool = Executors.newFixedThreadPool(Runtime.getRuntime().availableProcessors());
        try {
            List<Future<Path>> futures = new ArrayList<>();
            for (int i = 0; i < settings.images(); i++) {
                int index = i;
                futures.add(pool.submit(() -> writeJpeg(dir.resolve(String.format(Locale.ROOT, "img-%05d.jpg", index)),
                        index)));
            }
            List<Path> files = new ArrayList<>();
            for (Future<Path> f : futures) {
                files.add(f.get());
            }
            return files;
        } catch (java.util.concurrent.ExecutionException e) {
            throw new IllegalStateException("image generation failed: " + e.getCause().getMessage(), e.getCause());
        } finally {
            pool.shutdownNow();
        }
    }

    private Path writeJpeg(Path file, int seed) throws IOException {
        int w = settings.width();
        int h = settings.height();
        BufferedImage image = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        int[] pixels = ((DataBufferInt) image.getRaster().getDataBuffer()).getData();
        Random random = new Random(seed);
        double fx = 2 + random.nextDouble() * 6;
        double fy = 2 + random.nextDouble() * 6;
        double phase = random.nextDouble() * Math.PI * 2;
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                double u = (double) x / w;
                double v = (double) y / h;
                int r = (int) (127 + 100 * Math.sin(fx * u * Math.PI + phase)) + random.nextInt(24) - 12;
                int g = (int) (127 + 100 * Math.sin(fy * v * Math.PI + phase * 2)) + random.nextInt(24) - 12;
                int b = (int) (127 + 100 * Math.cos((u + v) * fx + phase)) + random.nextInt(24) - 12;
                pixels[y * w + x] = clamp(r) << 16 | clamp(g) << 8 | clamp(b);
            }
        }
        ImageWriter writer = ImageIO.getImageWritersByFormatName("jpeg").next();
        ImageWriteParam param = writer.getDefaultWriteParam();
        param.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
        param.setCompressionQuality(0.9f);
        try (ImageOutputStream stream = ImageIO.createImageOutputStream(Files.newOutputStream(file))) {
            writer.setOutput(stream);
            writer.write(null, new IIOImage(image, null, null), param);
        } finally {
            writer.dispose();
        }
        return file;
    }

    private static int clamp(int v) {
        return Math.max(0, Math.min(255, v));
    }

    /** Images/s of read-then-decode over every file, one thread, after one untimed warm-up pass over a few. */
    static double plainDecodeRate(List<Path> files) throws IOException {
        for (Path f : files.subList(0, Math.min(20, files.size()))) {
            ImageIO.read(new ByteArrayInputStream(Files.readAllBytes(f)));
        }
        long start = System.nanoTime();
        for (Path f : files) {
            if (ImageIO.read(new ByteArrayInputStream(Files.readAllBytes(f))) == null) {
                throw new IllegalStateException("ImageIO cannot decode its own JPEG " + f);
            }
        }
        return files.size() / ((System.nanoTime() - start) / 1e9);
    }

    private Result ingest(Path jar, Path work, List<Path> files, long bytes, double plain)
            throws InterruptedException {
        out.println("Starting embedded Kafka, S3 and the ingestion service ...");
        try (EmbeddedKafka kafka = EmbeddedKafka.start(work.resolve("kafka"));
             EmbeddedS3 s3 = EmbeddedS3.start(work.resolve("s3"))) {
            MinioClient minio = MinioClient.builder().endpoint(s3.endpoint())
                    .credentials(s3.accessKey(), s3.secretKey()).region("us-east-1").build();
            createBucketAndTopics(minio, kafka.bootstrapServers());
            int httpPort = ServerProcess.freePort();
            try (ServerProcess service = startService(jar, work, kafka, s3, httpPort);
                 Outcomes outcomes = new Outcomes(kafka.bootstrapServers())) {
                awaitReady(service, httpPort);
                warmUp(minio, kafka.bootstrapServers(), files, service, outcomes);
                Map<String, Long> announced = new ConcurrentHashMap<>();
                long start = System.nanoTime();
                upload(minio, kafka.bootstrapServers(), files, FOLDER, announced);
                long uploaded = System.nanoTime();
                int doneAtUpload = outcomes.count(FOLDER);
                out.printf("  uploaded and announced in %.1f s; %d outcome(s) so far%n", (uploaded - start) / 1e9,
                        doneAtUpload);
                awaitOutcomes(outcomes, FOLDER, files.size(), service);
                Map<String, Long> done = outcomes.snapshot(FOLDER);
                long last = done.values().stream().max(Comparator.naturalOrder()).orElse(System.nanoTime());
                double[] latencies = done.entrySet().stream().filter(e -> announced.containsKey(e.getKey()))
                        .mapToDouble(e -> (e.getValue() - announced.get(e.getKey())) / 1e6).sorted().toArray();
                double rate = done.size() / ((last - start) / 1e9);
                if (last > uploaded && done.size() > doneAtUpload) {
                    // the same two cores also ran the uploads and S3 until then: the rate once they are done
                    out.printf("  after the last upload: %d outcome(s) in %.1f s (%.2f images/s)%n",
                            done.size() - doneAtUpload, (last - uploaded) / 1e9,
                            (done.size() - doneAtUpload) / ((last - uploaded) / 1e9));
                }
                return new Result(files.size(), done.size(), outcomes.accepted(FOLDER), bytes, plain, rate,
                        percentile(latencies, 0.50), percentile(latencies, 0.99));
            }
        }
    }

    /** The untimed round: the first {@code warmUpImages} files into another dataset, until each has its outcome. */
    private void warmUp(MinioClient minio, String bootstrap, List<Path> files, ServerProcess service, Outcomes outcomes)
            throws InterruptedException {
        List<Path> warmUp = files.subList(0, Math.min(settings.warmUpImages(), files.size()));
        if (warmUp.isEmpty()) {
            return;
        }
        long start = System.nanoTime();
        upload(minio, bootstrap, warmUp, WARM_UP_FOLDER, new ConcurrentHashMap<>());
        awaitOutcomes(outcomes, WARM_UP_FOLDER, warmUp.size(), service);
        out.printf("  warm-up (untimed): %d image(s) into another dataset in %.1f s%n", outcomes.count(WARM_UP_FOLDER),
                (System.nanoTime() - start) / 1e9);
    }

    /** Waits until {@code expected} keys under {@code folder} have an outcome, the timeout passes or the service dies. */
    private void awaitOutcomes(Outcomes outcomes, String folder, int expected, ServerProcess service)
            throws InterruptedException {
        long deadline = System.nanoTime() + settings.timeout().toNanos();
        while (outcomes.count(folder) < expected && System.nanoTime() < deadline && service.isAlive()) {
            Thread.sleep(50);
        }
        if (!service.isAlive()) {
            throw new IllegalStateException("the ingestion service died:\n" + service.logTail());
        }
    }

    /** Creates the bucket and every topic of the contract (also used by {@code bench latents}). */
    static void createBucketAndTopics(MinioClient minio, String bootstrap) {
        try {
            if (!minio.bucketExists(BucketExistsArgs.builder().bucket(BUCKET).build())) {
                minio.makeBucket(MakeBucketArgs.builder().bucket(BUCKET).build());
            }
            try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap))) {
                List<NewTopic> topics = new ArrayList<>();
                for (TopicSpec spec : Topics.SPECS) {
                    topics.add(new NewTopic(spec.name(), spec.partitions(), (short) 1));
                }
                admin.createTopics(topics).all().get(30, TimeUnit.SECONDS);
            }
        } catch (Exception e) {
            throw new IllegalStateException("cannot set up the bucket and topics: " + e.getMessage(), e);
        }
    }

    private ServerProcess startService(Path jar, Path work, EmbeddedKafka kafka, EmbeddedS3 s3, int httpPort) {
        Map<String, String> env = Map.of("KILN_SCANNER_ENABLED", "false",
                "KILN_INGESTION_PARALLELISM", Integer.toString(settings.parallelism()));
        return ServiceLauncher.start("ingestion", jar, wiring(kafka, s3), httpPort, env,
                List.of("-Xmx768m", "-XX:+UseSerialGC"), work.resolve("ingestion"));
    }

    /** The embedded stack as a service sees it (also used by {@code bench latents}). */
    static ServiceLauncher.Wiring wiring(EmbeddedKafka kafka, EmbeddedS3 s3) {
        return new ServiceLauncher.Wiring(kafka.bootstrapServers(), s3.endpoint(), s3.accessKey(), s3.secretKey(),
                BUCKET);
    }

    private static void awaitReady(ServerProcess service, int port) throws InterruptedException {
        awaitReady(service, port, "ingestion");
    }

    /** Waits until a service's readiness answers 200 (also used by {@code bench latents}). */
    static void awaitReady(ServerProcess service, int port, String name) throws InterruptedException {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
        long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            if (!service.isAlive()) {
                throw new IllegalStateException("the " + name + " service exited during start-up:\n"
                        + service.logTail());
            }
            try {
                HttpResponse<Void> r = http.send(HttpRequest.newBuilder(URI.create("http://localhost:" + port
                        + "/q/health/ready")).timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.discarding());
                if (r.statusCode() == 200) {
                    return;
                }
            } catch (IOException e) {
                // not listening yet
            }
            Thread.sleep(250);
        }
        throw new IllegalStateException("the " + name + " service was not ready within " + READY_TIMEOUT + ":\n"
                + service.logTail());
    }

    /**
     * Uploads on {@value #UPLOAD_THREADS} threads; after each upload, the MinIO-format notification (key bucket/key,
     * no headers). Each PUT goes to a presigned URL (the payload unsigned, as browsers and S3 upload tools send
     * it) over one shared HTTP client: signing the payload would hash every byte twice more, in this process and in
     * the S3 server, on the same two cores the service is measured on.
     */
    private static void upload(MinioClient minio, String bootstrap, List<Path> files, String folder,
                               Map<String, Long> announced) throws InterruptedException {
        Map<String, Object> config = Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
                ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName(),
                ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName(),
                ProducerConfig.LINGER_MS_CONFIG, 0);
        ExecutorService uploaders = Executors.newFixedThreadPool(UPLOAD_THREADS);
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(5)).build();
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(config)) {
            List<Future<?>> futures = new ArrayList<>();
            for (Path file : files) {
                futures.add(uploaders.submit(() -> {
                    String key = folder + file.getFileName();
                    try {
                        String eTag = put(minio, http, key, file);
                        String body = Json.write(S3EventNotifications.created(BUCKET, key, Files.size(file), eTag,
                                "image/jpeg", Instant.now()));
                        announced.put(key, System.nanoTime());
                        producer.send(new ProducerRecord<>(Topics.STORAGE_EVENTS, BUCKET + "/" + key, body));
                    } catch (Exception e) {
                        throw new IllegalStateException("upload of " + key + " failed: " + e.getMessage(), e);
                    }
                    return null;
                }));
            }
            for (Future<?> f : futures) {
                f.get();
            }
        } catch (java.util.concurrent.ExecutionException e) {
            throw new IllegalStateException(e.getCause().getMessage(), e.getCause());
        } finally {
            uploaders.shutdownNow();
        }
    }

    /** One presigned PUT; returns the ETag without quotes. */
    private static String put(MinioClient minio, HttpClient http, String key, Path file) throws Exception {
        String url = minio.getPresignedObjectUrl(GetPresignedObjectUrlArgs.builder().method(Method.PUT)
                .bucket(BUCKET).object(key).expiry(1, TimeUnit.HOURS).build());
        HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create(url))
                .header("Content-Type", "image/jpeg").timeout(Duration.ofMinutes(1))
                .PUT(HttpRequest.BodyPublishers.ofFile(file)).build(), HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() != 200) {
            throw new IOException("HTTP " + response.statusCode() + ": " + response.body());
        }
        return response.headers().firstValue("ETag").orElseThrow(() -> new IOException("no ETag in the reply"))
                .replace("\"", "");
    }

    static double percentile(double[] sorted, double p) {
        if (sorted.length == 0) {
            return Double.NaN;
        }
        int index = (int) Math.ceil(p * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, index))];
    }

    /** Reads the outcome topics as a downstream service does (read_committed), noting when each key's outcome came. */
    private static final class Outcomes implements AutoCloseable {
        private final Map<String, Long> seen = new ConcurrentHashMap<>();
        private final Map<String, Boolean> acceptedKeys = new ConcurrentHashMap<>();
        private final Thread thread;
        private volatile boolean running = true;

        Outcomes(String bootstrap) {
            Map<String, Object> config = Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
                    ConsumerConfig.GROUP_ID_CONFIG, "kiln-bench-" + System.nanoTime(),
                    ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
                    ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed",
                    ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName(),
                    ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
            KafkaConsumer<String, String> consumer = new KafkaConsumer<>(config);
            consumer.subscribe(List.of(Topics.IMAGES_ACCEPTED, Topics.IMAGES_REJECTED));
            thread = new Thread(() -> {
                try (consumer) {
                    while (running) {
                        for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(50))) {
                            Header subject = r.headers().lastHeader("ce_subject");
                            if (subject != null) {
                                String key = new String(subject.value(), StandardCharsets.UTF_8);
                                seen.putIfAbsent(key, System.nanoTime());
                                if (r.topic().equals(Topics.IMAGES_ACCEPTED)) {
                                    acceptedKeys.put(key, true);
                                }
                            }
                        }
                    }
                }
            }, "kiln-bench-outcomes");
            thread.setDaemon(true);
            thread.start();
        }

        int count(String folder) {
            return (int) seen.keySet().stream().filter(k -> k.startsWith(folder)).count();
        }

        int accepted(String folder) {
            return (int) acceptedKeys.keySet().stream().filter(k -> k.startsWith(folder)).count();
        }

        Map<String, Long> snapshot(String folder) {
            Map<String, Long> copy = new HashMap<>(seen);
            copy.keySet().removeIf(k -> !k.startsWith(folder));
            return copy;
        }

        @Override
        public void close() throws InterruptedException {
            running = false;
            thread.join(5000);
        }
    }

    /** Deletes a benchmark's work folder (also used by {@code bench latents}). */
    static void deleteTree(Path dir) {
        try {
            TrainingState.deleteTree(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete " + dir + ": " + e.getMessage(), e);
        }
    }
}
