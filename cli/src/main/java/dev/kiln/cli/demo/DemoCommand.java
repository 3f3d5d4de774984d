package dev.kiln.cli.demo;

import dev.kiln.cli.job.ConnectionOptions;
import dev.kiln.cli.job.ProgressView;
import dev.kiln.cli.job.ProgressWatcher;
import dev.kiln.cli.job.WatchCommand;
import dev.kiln.cli.stack.LocalStack;
import dev.kiln.cli.stack.StackState;
import dev.kiln.model.events.ProgressType;
import dev.kiln.model.events.TrainingProgress;
import dev.kiln.model.keys.ObjectKeys;
import io.minio.MinioClient;
import io.minio.PutObjectArgs;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.ByteArrayInputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;

/**
 * {@code kiln demo}: the whole product on one machine. Starts the embedded stack, writes a tiny random SD1 model,
 * uploads the repository's photographs with captions and a LoRA job, follows the job on
 * {@code kiln.training.progress} to its end and the sampler's images after it, then says where everything is.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Run a small LoRA training through the whole local stack and show where its outputs are.")
public final class DemoCommand implements Callable<Integer> {

    @Option(names = "--data-dir", description = "Where the demo's stack keeps its data (default: ${DEFAULT-VALUE}).",
            defaultValue = "${sys:kiln.home:-.}/.kiln/demo")
    Path dataDir;

    @Option(names = "--kafka-port", defaultValue = "9092", description = "Kafka port (default: ${DEFAULT-VALUE}).")
    int kafkaPort;

    @Option(names = "--s3-port", defaultValue = "9000", description = "S3 port (default: ${DEFAULT-VALUE}).")
    int s3Port;

    @Option(names = "--steps", defaultValue = "80", description = "max_train_steps (default: ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--sample-every", defaultValue = "40",
            description = "sample_every_n_steps and save_every_n_steps (default: ${DEFAULT-VALUE}).")
    int sampleEvery;

    @Option(names = "--timeout", defaultValue = "15", description = "Minutes to wait for the job (default: ${DEFAULT-VALUE}).")
    int timeoutMinutes;

    @Option(names = "--keep-running", description = "Leave the stack running after the demo (Ctrl-C stops it).")
    boolean keepRunning;

    @Override
    public Integer call() throws InterruptedException {
        Path root = Path.of(System.getProperty("kiln.home", ".")).toAbsolutePath().normalize();
        Path data = dataDir.toAbsolutePath().normalize();
        PrintWriter out = new PrintWriter(System.out, true);
        PrintWriter err = new PrintWriter(System.err, true);
        LocalStack stack = new LocalStack(new LocalStack.Settings(root, data, kafkaPort, kafkaPort + 1, s3Port,
                "kiln", false, true, Duration.ofMinutes(3), 0), System.out);
        Thread stopper = new Thread(stack::close, "kiln-demo-stop");
        Runtime.getRuntime().addShutdownHook(stopper);
        long started = System.nanoTime();
        try {
            stack.start();
        } catch (RuntimeException e) {
            err.println("kiln demo: the stack did not start: " + e.getMessage()
                    + (e.getMessage() != null && e.getMessage().contains("in use")
                    ? "\n(is './kiln up' running? stop it, or pass --kafka-port and --s3-port)" : ""));
            return 1;
        }
        int status;
        try {
            status = run(stack, root, data, out, err, started);
        } catch (RuntimeException e) {
            err.println("kiln demo failed: " + e.getMessage() + " (service logs: " + data.resolve("services") + ")");
            status = 1;
        }
        if (keepRunning) {
            out.println("\nThe stack keeps running (Ctrl-C stops it): Kafka localhost:" + kafkaPort
                    + ", S3 http://localhost:" + s3Port + ", credentials in " + data.resolve("credentials.properties"));
            Thread.currentThread().join();
        }
        out.println("Stopping the stack (its data stays in " + data + ") ...");
        stack.close();
        return status;
    }

    private int run(LocalStack stack, Path root, Path data, PrintWriter out, PrintWriter err, long started) {
        StackState state = stack.state();
        ConnectionOptions connection = ConnectionOptions.of(state.kafkaBootstrap(), state.s3Endpoint(), state.bucket(),
                data);
        MinioClient s3 = connection.s3Client();
        String bucket = state.bucket();
        DemoJob job = DemoJob.of("demo-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")),
                steps, sampleEvery);

        out.println("\nWriting a tiny random SD1 model and uploading it to s3://" + bucket + "/" + job.modelKey() + "/");
        job.uploadModel(s3, bucket, data.resolve("models"));
        List<String> images = job.uploadPhotos(s3, bucket, root.resolve("demo/photos"));
        out.println("Uploaded " + images.size() + " photographs with captions to s3://" + bucket + "/" + job.imageDir()
                + "/ (demo/photos, public domain / CC0)");

        Duration timeout = Duration.ofMinutes(timeoutMinutes);
        try (ProgressWatcher watcher = ProgressWatcher.open(connection, job.name(), ProgressWatcher.Start.NOW, timeout)) {
            String key = ObjectKeys.jobSpec(job.name());
            byte[] toml = job.toml("").getBytes(StandardCharsets.UTF_8);
            s3.putObject(PutObjectArgs.builder().bucket(bucket).object(key)
                    .stream(new ByteArrayInputStream(toml), toml.length, -1).contentType("application/toml").build());
            out.println("Submitted job " + job.name() + ": s3://" + bucket + "/" + key + "\n");

            ProgressView view = new ProgressView(out, System.console() != null);
            List<TrainingProgress> samples = new ArrayList<>();
            java.util.function.Consumer<TrainingProgress> show = e -> {
                view.show(e);
                if (e.type() == ProgressType.SAMPLE) {
                    samples.add(e);
                }
            };
            java.util.function.Consumer<String> warn = w -> err.println("warning: " + w);
            Optional<TrainingProgress> end = watcher.await(timeout, show, warn);
            if (end.isEmpty() || end.get().type() != ProgressType.COMPLETED) {
                view.endOpenLine();
                err.println(end.isEmpty() ? "job " + job.name() + " did not end within " + timeout.toMinutes()
                        + " min (service logs: " + data.resolve("services") + ")"
                        : "job " + job.name() + " ended " + end.get().type().wire() + ": " + end.get().message()
                        + " (service logs: " + data.resolve("services") + ")");
                return end.isEmpty() ? WatchCommand.TIMED_OUT : end.get().type() == ProgressType.CANCELLED
                        ? WatchCommand.CANCELLED : WatchCommand.FAILED;
            }
            if (samples.size() < job.expectedSamples()) {
                // the sampler renders the last checkpoint's images after training ended
                watcher.awaitMatching(Duration.ofMinutes(2), e -> samples.size() >= job.expectedSamples(), show, warn);
            }
            view.endOpenLine();
            report(out, data, bucket, job, end.get(), samples, started);
            return WatchCommand.COMPLETED;
        } catch (Exception e) {
            err.println("kiln demo failed: " + e.getMessage());
            return 1;
        }
    }

    private void report(PrintWriter out, Path data, String bucket, DemoJob job, TrainingProgress completed,
                        List<TrainingProgress> samples, long started) {
        Path blobs = data.resolve("s3/blobs").resolve(bucket);
        String loraKey = ObjectKeys.finalModel(job.name(), DemoJob.OUTPUT_NAME);
        out.printf("%nDone in %.0f s. Job %s completed at step %d.%n", (System.nanoTime() - started) / 1e9,
                job.name(), completed.step());
        out.println("LoRA:    " + completed.artifact());
        out.println("         " + blobs.resolve(loraKey));
        out.println("Samples (" + samples.size() + " of " + job.expectedSamples() + "):");
        for (TrainingProgress s : samples) {
            String key = s.artifact().substring(("s3://" + bucket + "/").length());
            out.println("         " + s.artifact() + "\n           " + blobs.resolve(key));
        }
        out.println("Events:  every progress event of the job is on kiln.training.progress (key " + job.name() + ")");
        out.println("Try it:  ./kiln generate --model " + data.resolve("models/kiln-demo-tiny-sd1") + " --lora "
                + blobs.resolve(loraKey) + ":1 --prompt \"a photo of a cat\" --w 64 --h 64 --steps 12 --out cat.png");
    }
}
