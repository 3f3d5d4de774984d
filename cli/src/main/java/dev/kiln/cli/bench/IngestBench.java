package dev.kiln.cli.bench;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;

/** {@code kiln bench ingest}: the ingestion service's images/s and latency against a plain decode loop. */
@Command(name = "ingest", description = {"Uploads N generated JPEGs (real-sized, made in-process) to an embedded"
        + " Kafka + S3 stack running the ingestion service, and reports images/s from the first upload to the last"
        + " outcome event, per-image latency p50/p99, and the ratio to a plain in-JVM ImageIO decode loop over the"
        + " same files measured in the same run (target: at least 0.5).",
        "Needs the ingestion service's build (./kiln builds it)."})
final class IngestBench implements Callable<Integer> {
    @Option(names = "--images", defaultValue = "2000", description = "Images to upload (default: ${DEFAULT-VALUE}).")
    int images;

    @Option(names = "--width", defaultValue = "1024", description = "Image width (default: ${DEFAULT-VALUE}).")
    int width;

    @Option(names = "--height", defaultValue = "768", description = "Image height (default: ${DEFAULT-VALUE}).")
    int height;

    @Option(names = "--parallelism", defaultValue = "4",
            description = "The service's kiln.ingestion.parallelism (default: ${DEFAULT-VALUE}).")
    int parallelism;

    @Option(names = "--warm-up", defaultValue = "1000", description = "Images uploaded into another dataset before"
            + " the measured round, untimed, so the stack is measured warm (default: ${DEFAULT-VALUE}).")
    int warmUpImages;

    @Option(names = "--timeout", defaultValue = "PT10M",
            description = "Longest wait for the outcomes, ISO-8601 (default: ${DEFAULT-VALUE}).")
    Duration timeout;

    @Option(names = "--work-dir", description = "Where images, Kafka and S3 data go (default: a temporary folder,"
            + " deleted afterwards).")
    Path workDir;

    @Override
    public Integer call() throws Exception {
        if (images < 1 || width < 16 || height < 16 || parallelism < 1 || warmUpImages < 0) {
            System.err.println("kiln bench ingest: --images and --parallelism must be >= 1, --width/--height >= 16,"
                    + " --warm-up >= 0");
            return 2;
        }
        Path root = Path.of(System.getProperty("kiln.home", ".")).toAbsolutePath().normalize();
        IngestBenchmark.Settings settings = new IngestBenchmark.Settings(root, images, width, height, parallelism,
                warmUpImages, timeout, workDir);
        try {
            IngestBenchmark.Result result = new IngestBenchmark(settings, System.out).run();
            return result.outcomes() == images ? 0 : 1;
        } catch (IllegalStateException e) {
            System.err.println("kiln bench ingest: " + e.getMessage());
            return 1;
        }
    }
}
