package dev.kiln.cli.bench;

import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code kiln bench latents}: latent caching through the latent-cache service against the VAE encoder alone. */
@Command(name = "latents", description = {"Latents/s of latent caching through the latent-cache service (a planned"
        + " job, task events, workers, S3 upload, until kiln.latents.cached) on an embedded Kafka + S3 stack, for the"
        + " SD1.5-shaped VAE with random weights at 512x512 and the tiny golden VAE (at 128x128: it downsamples only"
        + " 2x), against the VAE encoder alone on"
        + " the same images in this JVM: prints service/encoder (service overhead).",
        "Needs the latent-cache service's build (./kiln builds it) and shared/golden (--golden-root)."})
final class LatentsBench implements Callable<Integer> {
    @Option(names = "--images", defaultValue = "12", description = "Images for the tiny VAE (default: ${DEFAULT-VALUE}).")
    int tinyImages;

    @Option(names = "--tiny-size", defaultValue = "128", description = "Resolution for the tiny VAE, which"
            + " downsamples only 2x (default: ${DEFAULT-VALUE}: 64x64 latents, as SD's at 512).")
    int tinySize;

    @Option(names = "--sd-images", defaultValue = "2",
            description = "Images for the SD1.5-shaped VAE (default: ${DEFAULT-VALUE}).")
    int sdImages;

    @Option(names = "--size", defaultValue = "512",
            description = "Resolution for the SD1.5-shaped VAE (default: ${DEFAULT-VALUE}).")
    int size;

    @Option(names = "--skip-sd", description = "Measure the tiny VAE only.")
    boolean skipSd;

    @Option(names = "--threads", defaultValue = "0", description = "libtorch intra-op threads, here and in the"
            + " service (default: libtorch's; on a busy machine 1 avoids OpenMP stalls).")
    int threads;

    @Option(names = "--golden-root", description = "The shared/golden folder (default: ../shared/golden, shared/golden).")
    Path goldenRoot;

    @Option(names = "--timeout", defaultValue = "PT15M",
            description = "Longest wait for one job, ISO-8601 (default: ${DEFAULT-VALUE}).")
    Duration timeout;

    @Option(names = "--work-dir", description = "Where models, images, Kafka and S3 data go (default: a temporary"
            + " folder, deleted afterwards).")
    Path workDir;

    @Override
    public Integer call() throws Exception {
        if (tinyImages < 1 || sdImages < 1 || size < 64 || size % 64 != 0 || tinySize < 64 || tinySize % 64 != 0) {
            System.err.println("kiln bench latents: --images and --sd-images must be >= 1, --size and --tiny-size"
                    + " multiples of 64");
            return 2;
        }
        Path root = Path.of(System.getProperty("kiln.home", ".")).toAbsolutePath().normalize();
        Path golden = goldenRoot;
        if (golden == null) {
            golden = java.nio.file.Files.isDirectory(root.resolve("../shared/golden")) ? root.resolve("../shared/golden")
                    : root.resolve("shared/golden");
        }
        try {
            new LatentsBenchmark(new LatentsBenchmark.Settings(root, golden.normalize(), tinyImages, tinySize, sdImages, size,
                    skipSd, threads, timeout, workDir), System.out).run();
            return 0;
        } catch (IllegalStateException e) {
            System.err.println("kiln bench latents: " + e.getMessage());
            return 1;
        }
    }
}
