package dev.kiln.diffusion.golden;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.ServiceLoader;
import java.util.stream.Stream;

/**
 * Runs check groups over config folders and tokenizer cases and builds the report of ARCHITECTURE §6:
 * {@code {"configs": {"<name>": {"checked", "passed", "failed", "unchecked", "groups"}}, "tokenizer": {...}}}.
 */
public final class GoldenRun {

    /** Golden files the conformance run covers (train_step belongs to the training checks). */
    public static final List<String> COVERED_FILES = List.of("text_encoder.safetensors", "unet.safetensors",
            "vae.safetensors", "scheduler.safetensors", "sampling.safetensors", "lora.safetensors");

    /** The report and every failure line in it. */
    public record Outcome(ObjectNode report, List<String> failures) {
    }

    private GoldenRun() {
    }

    /**
     * @param requireAll count golden tensors of the covered files that no group checked as failures
     */
    public static Outcome run(List<Path> configs, List<GoldenCheckGroup> groups, List<Path> tokenizerCases,
                              boolean requireAll) {
        ObjectNode report = new ObjectMapper().createObjectNode();
        ObjectNode configsNode = report.putObject("configs");
        List<String> allFailures = new ArrayList<>();
        for (Path folder : configs) {
            GoldenResults results = new GoldenResults();
            List<String> unchecked = new ArrayList<>();
            try (GoldenConfig config = new GoldenConfig(folder)) {
                try {
                    config.models();
                } catch (RuntimeException e) {
                    results.fail("load", "model cannot be loaded: " + e);
                }
                for (GoldenCheckGroup group : groups) {
                    try {
                        group.check(config, results);
                    } catch (Exception | AssertionError e) {
                        results.fail(group.name(), e.toString());
                    }
                }
                unchecked.addAll(unchecked(config, results));
            } catch (RuntimeException e) {
                results.fail("config", "config folder cannot be read: " + e);
            }
            ObjectNode node = configsNode.putObject(folder.getFileName().toString());
            int checked = results.checked();
            List<String> failed = new ArrayList<>(results.failed());
            if (requireAll) {
                unchecked.forEach(u -> failed.add("[unchecked] " + u));
                checked += unchecked.size();
            }
            node.put("checked", checked);
            node.put("passed", results.passed());
            failed.forEach(node.putArray("failed")::add);
            unchecked.forEach(node.putArray("unchecked")::add);
            groups.forEach(g -> node.withArray("groups").add(g.name()));
            failed.forEach(f -> allFailures.add(folder.getFileName() + " " + f));
        }

        ObjectNode tokenizer = report.putObject("tokenizer");
        int checked = 0;
        int passed = 0;
        List<String> tokenizerFailures = new ArrayList<>();
        for (Path cases : tokenizerCases) {
            for (TokenizerCases.Result r : TokenizerCases.check(cases)) {
                checked++;
                if (r.passed()) {
                    passed++;
                } else {
                    tokenizerFailures.add(r.caseId() + ": " + r.problem());
                }
            }
        }
        tokenizer.put("checked", checked);
        tokenizer.put("passed", passed);
        tokenizerFailures.forEach(tokenizer.putArray("failed")::add);
        tokenizerFailures.forEach(f -> allFailures.add("tokenizer " + f));
        return new Outcome(report, allFailures);
    }

    /** Golden tensors of the covered files that no group checked or consumed. */
    private static List<String> unchecked(GoldenConfig config, GoldenResults results) {
        List<String> out = new ArrayList<>();
        for (String file : COVERED_FILES) {
            JsonNode entry;
            try {
                entry = GoldenData.fileEntry(config.manifest(), "golden/" + file);
            } catch (IllegalStateException absent) {
                continue;
            }
            entry.path("tensors").fieldNames().forEachRemaining(tensor -> {
                if (!results.covers(file, tensor)) {
                    out.add(file + ":" + tensor);
                }
            });
        }
        return out;
    }

    /**
     * Every concrete {@link GoldenCheckGroup} whose class name ends in {@code GoldenChecks} under the test classes of
     * {@code dev.kiln.diffusion}, plus any registered with {@link ServiceLoader}; sorted by name.
     */
    public static List<GoldenCheckGroup> discoverGroups() {
        List<GoldenCheckGroup> groups = new ArrayList<>();
        ServiceLoader.load(GoldenCheckGroup.class).forEach(groups::add);
        try {
            Path classes = Path.of(GoldenCheckGroup.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            if (Files.isDirectory(classes)) {
                try (Stream<Path> files = Files.walk(classes.resolve("dev/kiln/diffusion"))) {
                    for (Path f : files.filter(p -> p.getFileName().toString().endsWith("GoldenChecks.class"))
                            .sorted().toList()) {
                        String name = classes.relativize(f).toString().replace('/', '.').replace(".class", "");
                        Class<?> type = Class.forName(name);
                        if (GoldenCheckGroup.class.isAssignableFrom(type) && !type.isInterface()
                                && !Modifier.isAbstract(type.getModifiers())
                                && groups.stream().noneMatch(g -> g.getClass() == type)) {
                            groups.add((GoldenCheckGroup) type.getDeclaredConstructor().newInstance());
                        }
                    }
                }
            }
        } catch (Exception e) {
            throw new IllegalStateException("cannot discover golden check groups: " + e, e);
        }
        groups.sort(Comparator.comparing(GoldenCheckGroup::name));
        return groups;
    }
}
