package dev.kiln.cli.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.jni.JniUtils;
import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.diffusion.bench.LetterTokenizer;
import dev.kiln.diffusion.bench.SyntheticImages;
import dev.kiln.diffusion.dataset.LocalDatasetSource;
import dev.kiln.diffusion.image.ImageTensors;
import dev.kiln.diffusion.model.StableDiffusionLoader;
import dev.kiln.diffusion.model.StableDiffusionModel;
import dev.kiln.diffusion.safetensors.DType;
import dev.kiln.diffusion.safetensors.SafeTensorsWriter;
import dev.kiln.diffusion.train.latent.LatentEncoder;
import dev.kiln.diffusion.train.latent.LocalLatents;
import dev.kiln.diffusion.vae.VaeConfig;
import dev.kiln.diffusion.vae.VaeParameters;
import dev.kiln.cli.stack.ServiceLauncher;
import dev.kiln.infra.kafka.EmbeddedKafka;
import dev.kiln.infra.process.ServerProcess;
import dev.kiln.infra.s3.EmbeddedS3;
import dev.kiln.model.dataset.DatasetPlan;
import dev.kiln.model.dataset.PlanJson;
import dev.kiln.model.events.JobPlanned;
import dev.kiln.model.job.JobSpec;
import dev.kiln.model.job.JobSpecParser;
import dev.kiln.model.json.Json;
import dev.kiln.model.keys.ObjectKeys;
import dev.kiln.model.topics.Topics;
import io.minio.MinioClient;
import io.minio.PutObjectArgs;
import io.minio.UploadObjectArgs;
import org.apache.commons.io.file.PathUtils;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Map.Entry;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * {@code kiln bench latents}: latents per second through the latent-cache service (a {@code kiln.jobs.planned}
 * record, task events on {@code kiln.latents.tasks}, the workers' download, encode and S3 upload, until
 * {@code kiln.latents.cached}) against the VAE encoder alone on the same prepared images in this JVM, for an
 * SD1.5-shaped VAE with random weights at 512² and the tiny golden VAE. The tiny VAE downsamples only ×2, so its
 * mid-block attention at 512² would span 65,536 positions (hours on a CPU): it runs at 128² by default, where its
 * latents are 64×64 like SD's at 512². The ratio is what the service path keeps of the encoder's rate.
 */
public final class LatentsBenchmark {
    private static final String BUCKET = IngestBenchmark.BUCKET;
    private static final int WARM_SIZE = 64;

    /** @param goldenRoot the {@code shared/golden} folder (tiny-sd15) */
    public record Settings(Path repoRoot, Path goldenRoot, int tinyImages, int tinySize, int sdImages, int size,
                           boolean skipSd, int threads, Duration timeout, Path workDir) {
    }

    /** One model's measurement. */
    public record Result(String model, int size, int latents, double encoderPerSec, double servicePerSec) {
        public double ratio() {
            return servicePerSec / encoderPerSec;
        }
    }

    private final Settings settings;
    private final PrintStream out;

    public LatentsBenchmark(Settings settings, PrintStream out) {
        this.settings = settings;
        this.out = out;
    }

    /** A model under test: its local diffusers folder and its bucket prefix. */
    private record Model(String name, Path folder, int images, int size) {
        String key() {
            return ObjectKeys.MODELS + name;
        }
    }

    public List<Result> run() throws IOException, InterruptedException {
        Path jar = settings.repoRoot().resolve("services/latent-cache/target/quarkus-app/quarkus-run.jar");
        if (!Files.exists(jar)) {
            throw new IllegalStateException(jar + " is missing: build with 'mvn install -DskipTests'");
        }
        Path tiny = settings.goldenRoot().resolve("tiny-sd15/diffusers");
        if (!Files.isDirectory(tiny)) {
            throw new IllegalStateException(tiny + " is missing: pass --golden-root DIR (shared/golden)");
        }
        if (settings.threads() > 0) {
            // the same libtorch intra-op threads here and in the service (before the engine starts)
            System.setProperty("ai.djl.pytorch.num_threads", Integer.toString(settings.threads()));
        }
        boolean temporary = settings.workDir() == null;
        Path work = temporary ? Files.createTempDirectory("kiln-bench-latents-") : settings.workDir();
        try {
            Path tokenizer = LetterTokenizer.write(work.resolve("tokenizer"));
            List<Model> models = new ArrayList<>();
            models.add(new Model("tiny-vae", withVae(tiny, tokenizer, work.resolve("models/tiny-vae"), null),
                    settings.tinyImages(), settings.tinySize()));
            if (!settings.skipSd()) {
                models.add(new Model("sd15-vae", withVae(tiny, tokenizer, work.resolve("models/sd15-vae"),
                        sd15VaeConfig()), settings.sdImages(), settings.size()));
            }
            out.printf(Locale.ROOT, "kiln bench latents: float32, %d cores, libtorch threads %s%n",
                    Runtime.getRuntime().availableProcessors(),
                    settings.threads() > 0 ? Integer.toString(settings.threads()) : "default");
            Map<String, Double> encoder = new HashMap<>();
            for (Model model : models) {
                // a one-image 64² job warms up both paths (the service: downloading and loading the model)
                mirror(work, model, "warm-" + model.name(), 1, 99, WARM_SIZE);
                mirror(work, model, "bench-" + model.name(), model.images(), 1, model.size());
                double rate = encoderRate(model, work.resolve("mirror"), model.name());
                encoder.put(model.name(), rate);
                out.printf(Locale.ROOT, "  %s at %d²: VAE encoder alone %.3f latents/s%n", model.name(), model.size(),
                        rate);
            }
            List<Result> results = service(jar, work, models, encoder);
            for (Result r : results) {
                out.printf(Locale.ROOT, "%s at %d²: %d latents, service %.3f latents/s, encoder alone %.3f latents/s,"
                        + " service/encoder = %.3f (overhead %.0f%%)%n", r.model(), r.size(), r.latents(), r.servicePerSec(),
                        r.encoderPerSec(), r.ratio(), (1 / r.ratio() - 1) * 100);
            }
            out.println(Json.write(Map.of("benchmark", "latents", "results", results.stream()
                    .map(r -> Map.of("model", r.model(), "size", r.size(), "latents", r.latents(), "servicePerSec", r.servicePerSec(),
                            "encoderPerSec", r.encoderPerSec(), "ratio", r.ratio())).toList())));
            return results;
        } finally {
            if (temporary) {
                IngestBenchmark.deleteTree(work);
            }
        }
    }

    /** The tiny diffusers folder with its letter tokenizer, its VAE replaced by random weights of {@code vae}. */
    private static Path withVae(Path tiny, Path tokenizer, Path target, VaeConfig vae) throws IOException {
        Files.createDirectories(target.getParent()); // the copy creates target, not its parents
        PathUtils.copyDirectory(tiny, target, StandardCopyOption.REPLACE_EXISTING);
        PathUtils.copyDirectory(tokenizer, target.resolve("tokenizer"), StandardCopyOption.REPLACE_EXISTING);
        if (vae != null) {
            Path folder = target.resolve("vae");
            IngestBenchmark.deleteTree(folder);
            Files.createDirectories(folder);
            Files.writeString(folder.resolve("config.json"), SD15_VAE_CONFIG, StandardCharsets.UTF_8);
            try (NDManager m = NDManager.newBaseManager()) {
                ai.djl.engine.Engine.getInstance().setRandomSeed(0);
                SafeTensorsWriter writer = new SafeTensorsWriter();
                for (Entry<String, NDArray> e : VaeParameters.of(vae).random(m).entrySet()) {
                    writer.add(e.getKey(), e.getValue(), DType.F32);
                }
                writer.write(folder.resolve("diffusion_pytorch_model.safetensors"));
            }
        }
        return target;
    }

    /** diffusers' config of the Stable Diffusion 1.x VAE (AutoencoderKL, 83.7 M parameters). */
    static final String SD15_VAE_CONFIG = "{\"_class_name\": \"AutoencoderKL\", \"act_fn\": \"silu\","
            + " \"block_out_channels\": [128, 256, 512, 512], \"down_block_types\": [\"DownEncoderBlock2D\","
            + " \"DownEncoderBlock2D\", \"DownEncoderBlock2D\", \"DownEncoderBlock2D\"], \"in_channels\": 3,"
            + " \"latent_channels\": 4, \"layers_per_block\": 2, \"norm_num_groups\": 32, \"out_channels\": 3,"
            + " \"sample_size\": 512, \"scaling_factor\": 0.18215, \"up_block_types\": [\"UpDecoderBlock2D\","
            + " \"UpDecoderBlock2D\", \"UpDecoderBlock2D\", \"UpDecoderBlock2D\"]}";

    private static VaeConfig sd15VaeConfig() {
        return VaeConfig.fromJson(Json.read(SD15_VAE_CONFIG, JsonNode.class), "SD1.5 VAE config");
    }

    /** A local folder laid out as the bucket: {@code count} images of one dataset and a job.toml over them. */
    private static Path mirror(Path work, Model model, String job, int count, long seed, int size) throws IOException {
        Path root = work.resolve("mirror").resolve(job);
        SyntheticImages.write(root.resolve("datasets/" + job + "/1_s c"), count, size, "s c", seed);
        Path toml = root.resolve(ObjectKeys.jobSpec(job));
        Files.createDirectories(toml.getParent());
        Files.writeString(toml, "method = \"lora\"\npretrained_model_name_or_path = \"" + model.key() + "\"\n"
                + "max_train_steps = 1\n[[datasets]]\nresolution = " + size + "\nbatch_size = 1\n"
                + "  [[datasets.subsets]]\n  image_dir = \"datasets/" + job + "/1_s c\"\n  class_tokens = \"s c\"\n",
                StandardCharsets.UTF_8);
        return root;
    }

    private static DatasetPlan plan(Path root, String job) {
        String key = ObjectKeys.jobSpec(job);
        try {
            JobSpec spec = JobSpecParser.parse(Files.readString(root.resolve(key)), key, job);
            return new LocalDatasetSource(root).plan(spec.dataset(), spec.trainingLength());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The VAE encoder alone over the prepared images (decode, resize and crop done beforehand): latents/s. */
    private static double encoderRate(Model model, Path mirrors, String name) {
        Path warmRoot = mirrors.resolve("warm-" + name);
        DatasetPlan.Image warmImage = plan(warmRoot, "warm-" + name).datasets().get(0).images().get(0);
        Path root = mirrors.resolve("bench-" + name);
        DatasetPlan plan = plan(root, "bench-" + name);
        try (NDManager manager = NDManager.newBaseManager()) {
            JniUtils.setGradMode(false);
            StableDiffusionModel sd = StableDiffusionLoader.load(model.folder(), manager);
            LatentEncoder encoder = new LatentEncoder(sd.vae());
            List<BufferedImage> prepared = new ArrayList<>();
            List<String> shas = new ArrayList<>();
            for (DatasetPlan.Image image : plan.datasets().get(0).images()) {
                Path file = root.resolve(image.path());
                prepared.add(LatentEncoder.prepare(ImageTensors.read(file), image.bucket(), false));
                shas.add(LocalLatents.fileSha256(file));
            }
            try (NDManager warm = manager.newSubManager()) {
                Path file = warmRoot.resolve(warmImage.path());
                encoder.encode(LatentEncoder.prepare(ImageTensors.read(file), warmImage.bucket(), false),
                        LocalLatents.fileSha256(file), false, warm);
            }
            // the median encode: robust to bursts of other load on the machine
            double[] seconds = new double[prepared.size()];
            for (int i = 0; i < prepared.size(); i++) {
                long start = System.nanoTime();
                try (NDManager scope = manager.newSubManager()) {
                    encoder.encode(prepared.get(i), shas.get(i), false, scope);
                }
                seconds[i] = (System.nanoTime() - start) / 1e9;
            }
            if (Boolean.getBoolean("kiln.bench.verbose")) {
                System.out.println("    encode seconds: " + java.util.Arrays.toString(seconds));
            }
            java.util.Arrays.sort(seconds);
            int n = seconds.length;
            return 1 / (n % 2 == 1 ? seconds[n / 2] : (seconds[n / 2 - 1] + seconds[n / 2]) / 2);
        }
    }

    private List<Result> service(Path jar, Path work, List<Model> models, Map<String, Double> encoder)
            throws IOException, InterruptedException {
        out.println("Starting embedded Kafka, S3 and the latent-cache service ...");
        try (EmbeddedKafka kafka = EmbeddedKafka.start(work.resolve("kafka"));
             EmbeddedS3 s3 = EmbeddedS3.start(work.resolve("s3"))) {
            MinioClient minio = MinioClient.builder().endpoint(s3.endpoint())
                    .credentials(s3.accessKey(), s3.secretKey()).region("us-east-1").build();
            IngestBenchmark.createBucketAndTopics(minio, kafka.bootstrapServers());
            int httpPort = ServerProcess.freePort();
            List<Result> results = new ArrayList<>();
            try (ServerProcess service = startService(jar, work, kafka, s3, httpPort);
                 Ends ends = new Ends(kafka.bootstrapServers());
                 KafkaProducer<String, String> producer = new KafkaProducer<>(Map.of(
                         ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(),
                         ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName(),
                         ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName()))) {
                IngestBenchmark.awaitReady(service, httpPort, "latent-cache");
                for (Model model : models) {
                    upload(minio, model.folder(), model.key() + "/");
                    // the one-image job first: the service downloads and loads the model, which is not measured
                    String warm = "warm-" + model.name();
                    submit(minio, producer, ends, service, work.resolve("mirror").resolve(warm), warm);
                    String job = "bench-" + model.name();
                    Path root = work.resolve("mirror").resolve(job);
                    int latents = plan(root, job).datasets().get(0).images().size();
                    double seconds = submit(minio, producer, ends, service, root, job);
                    results.add(new Result(model.name(), model.size(), latents, encoder.get(model.name()), latents / seconds));
                }
            }
            return results;
        }
    }

    /** Uploads a job's images, job.toml and plan, announces the plan; returns seconds from announcement to cached. */
    private double submit(MinioClient minio, KafkaProducer<String, String> producer, Ends ends, ServerProcess service,
                          Path root, String job) throws IOException, InterruptedException {
        upload(minio, root.resolve("datasets"), "datasets/");
        upload(minio, root.resolve("jobs"), "jobs/");
        byte[] plan = PlanJson.write(plan(root, job)).getBytes(StandardCharsets.UTF_8);
        try {
            minio.putObject(PutObjectArgs.builder().bucket(BUCKET).object(ObjectKeys.plan(job))
                    .stream(new ByteArrayInputStream(plan), plan.length, -1).build());
        } catch (Exception e) {
            throw new IllegalStateException("cannot upload the plan of " + job + ": " + e.getMessage(), e);
        }
        ProducerRecord<String, String> record = new ProducerRecord<>(Topics.JOBS_PLANNED, job,
                Json.write(new JobPlanned(job, ObjectKeys.plan(job), 1, 1, 1)));
        for (String[] h : new String[][] {{"ce_specversion", "1.0"}, {"ce_id", UUID.randomUUID().toString()},
                {"ce_type", Topics.ceTypeOf(Topics.JOBS_PLANNED)}, {"ce_source", "/kiln/cli"},
                {"ce_time", Instant.now().toString()}, {"ce_subject", job}}) {
            record.headers().add(h[0], h[1].getBytes(StandardCharsets.UTF_8));
        }
        long start = System.nanoTime();
        try {
            producer.send(record).get();
        } catch (Exception e) {
            throw new IllegalStateException("cannot publish kiln.jobs.planned: " + e.getMessage(), e);
        }
        long deadline = start + settings.timeout().toNanos();
        while (System.nanoTime() < deadline) {
            Long end = ends.cached.get(job);
            if (end != null) {
                return (end - start) / 1e9;
            }
            String failed = ends.failed.get(job);
            if (failed != null) {
                throw new IllegalStateException("job " + job + " failed: " + failed);
            }
            if (!service.isAlive()) {
                throw new IllegalStateException("the latent-cache service died:\n" + service.logTail());
            }
            Thread.sleep(20);
        }
        throw new IllegalStateException("no kiln.latents.cached for " + job + " within " + settings.timeout() + ":\n"
                + service.logTail());
    }

    private ServerProcess startService(Path jar, Path work, EmbeddedKafka kafka, EmbeddedS3 s3, int httpPort) {
        Map<String, String> env = Map.of("KILN_LATENT_CACHE_WORK_DIR", work.resolve("latent-cache-work").toString());
        List<String> options = new ArrayList<>(List.of("-Xmx1g", "-XX:+UseSerialGC", "-Dai.djl.offline=true",
                "-DENGINE_CACHE_DIR=" + work.resolve("djl-cache")));
        if (settings.threads() > 0) {
            options.add("-Dai.djl.pytorch.num_threads=" + settings.threads());
        }
        return ServiceLauncher.start("latent-cache", jar, IngestBenchmark.wiring(kafka, s3), httpPort, env, options,
                work.resolve("latent-cache"));
    }

    private static void upload(MinioClient minio, Path dir, String prefix) throws IOException {
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path file : walk.filter(Files::isRegularFile).toList()) {
                String key = prefix + dir.relativize(file).toString().replace('\\', '/');
                try {
                    minio.uploadObject(UploadObjectArgs.builder().bucket(BUCKET).object(key)
                            .filename(file.toString()).build());
                } catch (Exception e) {
                    throw new IllegalStateException("cannot upload " + key + ": " + e.getMessage(), e);
                }
            }
        }
    }

    /** When each job's {@code kiln.latents.cached} arrived, and any {@code failed} progress event. */
    private static final class Ends implements AutoCloseable {
        final Map<String, Long> cached = new ConcurrentHashMap<>();
        final Map<String, String> failed = new ConcurrentHashMap<>();
        private final Thread thread;
        private volatile boolean running = true;

        Ends(String bootstrap) {
            KafkaConsumer<String, String> consumer = new KafkaConsumer<>(Map.of(
                    ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
                    ConsumerConfig.GROUP_ID_CONFIG, "kiln-bench-" + System.nanoTime(),
                    ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
                    ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName(),
                    ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName()));
            consumer.subscribe(List.of(Topics.LATENTS_CACHED, Topics.TRAINING_PROGRESS));
            thread = new Thread(() -> {
                try (consumer) {
                    while (running) {
                        for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(20))) {
                            if (r.topic().equals(Topics.LATENTS_CACHED)) {
                                cached.putIfAbsent(r.key(), System.nanoTime());
                            } else if (r.value().contains("\"type\":\"failed\"")) {
                                failed.putIfAbsent(r.key(), Json.read(r.value(), JsonNode.class).path("message")
                                        .asText());
                            }
                        }
                    }
                }
            }, "kiln-bench-ends");
            thread.setDaemon(true);
            thread.start();
        }

        @Override
        public void close() throws InterruptedException {
            running = false;
            thread.join(5000);
        }
    }
}
