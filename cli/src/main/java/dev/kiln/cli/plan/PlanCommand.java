package dev.kiln.cli.plan;

import dev.kiln.diffusion.dataset.LocalDatasetSource;

import dev.kiln.cli.job.SubmitCommand;
import dev.kiln.model.dataset.ConfigException;
import dev.kiln.model.dataset.DatasetConfig;
import dev.kiln.model.dataset.DatasetConfigParser;
import dev.kiln.model.dataset.DatasetPlan;
import dev.kiln.model.dataset.DatasetPlanner;
import dev.kiln.model.dataset.PlanJson;
import dev.kiln.model.dataset.TrainingLength;
import dev.kiln.model.job.JobSpec;
import dev.kiln.model.job.JobSpecParser;
import dev.kiln.model.job.Method;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import org.tomlj.TomlParseResult;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code kiln plan <job.toml | dataset.toml> --root DIR [--json]}: resolves a job or dataset config against
 * local files the way sd-scripts would and prints the subsets, images, repeats, buckets and steps.
 * Invalid configs exit with status 2 and a message naming the key or file.
 */
@Command(name = "plan", mixinStandardHelpOptions = true,
        description = "Show the buckets, captions, repeats and steps sd-scripts would use for a job or dataset config.")
public final class PlanCommand implements Callable<Integer> {
    /** Exit status for an invalid config. */
    public static final int INVALID_CONFIG = 2;

    @Parameters(index = "0", paramLabel = "CONFIG", description = "a job.toml or a kohya dataset config (.toml)")
    Path config;

    @Option(names = "--root", paramLabel = "DIR", defaultValue = ".",
            description = "the folder that image_dir and other paths are relative to (default: current folder)")
    Path root;

    @Option(names = "--json", description = "print the plan as JSON")
    boolean json;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        String text;
        try {
            text = Files.readString(config, StandardCharsets.UTF_8);
        } catch (IOException e) {
            err.println("cannot read " + config + ": " + e.getMessage());
            return INVALID_CONFIG;
        }
        if (!Files.isDirectory(root)) {
            err.println("--root " + root + " is not a directory");
            return INVALID_CONFIG;
        }
        LocalDatasetSource source = new LocalDatasetSource(root);
        DatasetPlan plan;
        try {
            plan = plan(text, config.getFileName().toString(), SubmitCommand.defaultJobName(config), source);
        } catch (ConfigException e) {
            err.println(config + ": " + e.getMessage());
            return INVALID_CONFIG;
        }
        if (json) {
            out.println(PlanJson.write(plan));
        } else {
            PlanSummary.print(plan, out);
        }
        out.flush();
        return 0;
    }

    /** A job.toml has keys besides [general] and [[datasets]]; a dataset config has only those two. */
    static DatasetPlan plan(String text, String fileName, String jobName, LocalDatasetSource source) {
        TomlParseResult toml = DatasetConfigParser.parseToml(text, fileName);
        boolean isJob = !Set.of("general", "datasets").containsAll(toml.keySet());
        DatasetConfig dataset;
        TrainingLength length;
        if (isJob) {
            JobSpec job = JobSpecParser.parse(text, fileName, jobName);
            dataset = job.dataset();
            length = job.trainingLength();
        } else {
            dataset = DatasetConfigParser.parseDatasetConfig(text, fileName, JobSpecParser.defaults(Method.LORA),
                    DatasetConfigParser.Options.SD);
            length = TrainingLength.DEFAULT;
        }
        return source.plan(dataset, length);
    }
}
