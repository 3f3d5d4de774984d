package dev.kiln.cli.bench;

import dev.kiln.diffusion.bench.UnetBenchmark;
import picocli.CommandLine.Command;
import picocli.CommandLine.Unmatched;

import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code kiln bench ...}: performance benchmarks. Each prints its measurement next to a baseline measured in
 * the same run, as a ratio, so numbers from different machines compare.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Run a benchmark; each prints a ratio against a baseline measured in the same run.",
        subcommands = {BenchCommand.Unet.class, BenchCommand.TrainStep.class, TaggerBench.class, IngestBench.class,
                LatentsBench.class})
public final class BenchCommand implements Runnable {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    /** UNet forward and forward+backward time, GFLOP/s as a ratio of this machine's matmul rate. */
    @Command(name = "unet", description = {"ms per UNet forward and forward+backward (tiny-sd15 and an SD1.5-shaped"
            + " UNet with random weights), and GFLOP/s against a matmul baseline.",
            "Options are passed to the benchmark: --golden-root DIR, --latent N, --batch N, --iterations N,"
                    + " --sd15-iterations N, --skip-sd15, --skip-backward, --matmul N, --threads N."})
    static final class Unet implements Callable<Integer> {
        @Unmatched
        List<String> args = new java.util.ArrayList<>();

        @Override
        public Integer call() throws Exception {
            try {
                UnetBenchmark.main(args.toArray(String[]::new));
                return 0;
            } catch (IllegalArgumentException e) {
                System.err.println("kiln bench unet: " + e.getMessage());
                return 2;
            }
        }
    }

    /** ms per LoRA training step against the forward pass alone, for tiny-sd15 and an SD1.5-shaped model. */
    @Command(name = "train-step", description = {"ms per LoRA training step (batch 1, 32x32 latents) for tiny-sd15 and"
            + " an SD1.5-shaped model with random weights, with the forward pass timed alone and the ratio"
            + " backward/forward printed (target <= 2.5).",
            "Options: --golden-root DIR, --iterations N, --sd15-iterations N, --skip-sd15, --network-dim N."})
    static final class TrainStep implements Callable<Integer> {
        @Unmatched
        List<String> args = new java.util.ArrayList<>();

        @Override
        public Integer call() throws Exception {
            try {
                dev.kiln.diffusion.bench.TrainStepBenchmark.main(args.toArray(String[]::new));
                return 0;
            } catch (IllegalArgumentException e) {
                System.err.println("kiln bench train-step: " + e.getMessage());
                return 2;
            }
        }
    }
}
