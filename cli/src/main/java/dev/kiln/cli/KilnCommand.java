package dev.kiln.cli;

import dev.kiln.cli.bench.BenchCommand;
import dev.kiln.cli.demo.DemoCommand;
import dev.kiln.cli.generate.GenerateCommand;
import dev.kiln.cli.job.SubmitCommand;
import dev.kiln.cli.job.WatchCommand;
import dev.kiln.cli.plan.PlanCommand;
import dev.kiln.cli.stack.StatusCommand;
import dev.kiln.cli.stack.UpCommand;
import dev.kiln.cli.train.TrainCommand;
import picocli.CommandLine.Command;

/** The top-level {@code kiln} command; each capability is a subcommand. */
@Command(name = "kiln", mixinStandardHelpOptions = true, version = "kiln 0.1.0",
        description = "Train Stable Diffusion models the way kohya sd-scripts does, as a service.",
        subcommands = {UpCommand.class, StatusCommand.class, PlanCommand.class, SubmitCommand.class,
                WatchCommand.class, DemoCommand.class, GenerateCommand.class, TrainCommand.class, BenchCommand.class})
public final class KilnCommand implements Runnable {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }
}
