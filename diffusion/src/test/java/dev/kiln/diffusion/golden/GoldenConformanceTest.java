package dev.kiln.diffusion.golden;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Golden conformance (ARCHITECTURE §6): every config folder with a {@code manifest.json} under {@code golden.root}
 * goes through every {@link GoldenCheckGroup} on the test class path, every {@code tokenizer/cases.json} through the
 * CLIP tokenizer, and the outcome is written to {@code target/golden-report.json} ({@code -Dgolden.report=FILE}).
 * Any failure fails the test; a config that cannot be loaded is a failure. Golden tensors of the covered files that
 * no group checked are listed as {@code unchecked} (failures too with {@code -Dgolden.requireAll=true}).
 */
class GoldenConformanceTest {

    @Test
    void everyGoldenConfigPasses() throws IOException {
        List<GoldenCheckGroup> groups = GoldenRun.discoverGroups();
        assertFalse(groups.isEmpty(), "no GoldenCheckGroup found on the test class path");
        List<Path> configs = GoldenData.configFolders();
        assertFalse(configs.isEmpty(), "no config folder with manifest.json under " + GoldenData.root());
        List<Path> cases = TokenizerCases.caseFiles();
        assertFalse(cases.isEmpty(), "no tokenizer/cases.json under " + GoldenData.root());

        GoldenRun.Outcome outcome = GoldenRun.run(configs, groups, cases, Boolean.getBoolean("golden.requireAll"));
        outcome.report().put("golden_root", GoldenData.root().toString());

        Path out = Path.of(System.getProperty("golden.report", "target/golden-report.json"));
        Files.createDirectories(out.toAbsolutePath().getParent());
        new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(out.toFile(), outcome.report());

        assertEquals(List.of(), outcome.failures(), String.join("\n", outcome.failures()));
    }
}
