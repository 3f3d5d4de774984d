package dev.kiln.cli.train;

import dev.kiln.diffusion.train.LocalTraining;
import dev.kiln.diffusion.train.DiffusionTrainer;
import dev.kiln.diffusion.train.TrainingControl;
import dev.kiln.model.dataset.ConfigException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/**
 * {@code kiln train job.toml --root DIR}: a whole training run on local files with no Kafka or S3 (dataset engine,
 * latent caching, training, samples and saves as sd-scripts lays them out in {@code output_dir}). Invalid jobs exit
 * with status 2 naming the key or file; a failure while training exits with 1.
 */
@Command(name = "train", mixinStandardHelpOptions = true,
        description = "Train a job.toml on local files (no Kafka or S3), with progress, samples and saves.")
public final class TrainCommand implements Callable<Integer> {

    static final int INVALID = 2;
    static final int FAILED = 1;

    @Parameters(index = "0", paramLabel = "JOB", description = "the job.toml")
    Path job;

    @Option(names = "--root", paramLabel = "DIR", defaultValue = ".",
            description = "the folder image_dir, the model path, prompt files and output_dir are relative to")
    Path root;

    @Option(names = "--tokenizer", paramLabel = "DIR",
            description = "a tokenizer folder (vocab.json + merges.txt, or tokenizer.json) replacing the model's")
    Path tokenizer;

    @Option(names = "--resume", paramLabel = "DIR",
            description = "a training state folder (<name>-state, <name>-step<N>-state) to continue from")
    Path resume;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter err = spec.commandLine().getErr();
        if (!Files.isRegularFile(job)) {
            err.println("kiln train: " + job + " is not a file");
            return INVALID;
        }
        if (!Files.isDirectory(root)) {
            err.println("kiln train: --root " + root + " is not a directory");
            return INVALID;
        }
        TrainProgress progress = new TrainProgress(err);
        DiffusionTrainer.Result result;
        try {
            result = LocalTraining.run(new LocalTraining.Options(job, root, tokenizer, resume), progress,
                    TrainingControl.NONE);
        } catch (ConfigException | IllegalArgumentException e) {
            err.println();
            err.println("kiln train: " + job + ": " + e.getMessage());
            return INVALID;
        } catch (RuntimeException e) {
            err.println();
            err.println("kiln train: training failed: " + e.getMessage());
            return FAILED;
        }
        err.printf("kiln train: %s after %d steps, last loss %.4f%n", result.status().name().toLowerCase(),
                result.steps(), result.lastLoss());
        err.flush();
        return 0;
    }
}
