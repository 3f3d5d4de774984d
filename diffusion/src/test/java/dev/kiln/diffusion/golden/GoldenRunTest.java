package dev.kiln.diffusion.golden;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The harness itself: unloadable configs fail, group errors fail, unchecked tensors are listed. */
class GoldenRunTest {

    /** A group that checks nothing and reports one tensor as passed. */
    static final class OnePass implements GoldenCheckGroup {
        @Override
        public String name() {
            return "one";
        }

        @Override
        public void check(GoldenConfig config, GoldenResults results) {
            results.check("text_encoder.safetensors", "pooler_output", "test", null);
        }
    }

    @Test
    void aConfigThatCannotBeLoadedCountsAsFailed(@TempDir Path root) throws IOException {
        Path broken = Files.createDirectories(root.resolve("broken-config"));
        Files.writeString(broken.resolve("manifest.json"), "{\"config_name\":\"broken-config\",\"files\":[]}");
        GoldenRun.Outcome outcome = GoldenRun.run(List.of(broken), List.of(new OnePass()), List.of(), false);
        JsonNode node = outcome.report().path("configs").path("broken-config");
        assertEquals(2, node.path("checked").asInt(), node.toString());
        assertEquals(1, node.path("passed").asInt());
        assertEquals(1, outcome.failures().size(), outcome.failures().toString());
        assertTrue(outcome.failures().get(0).contains("[load]"), outcome.failures().toString());
    }

    @Test
    void groupErrorsFailAndUncheckedTensorsAreListed() {
        Path config = GoldenData.configFolders().get(0);
        GoldenCheckGroup throwing = new GoldenCheckGroup() {
            @Override
            public String name() {
                return "throwing";
            }

            @Override
            public void check(GoldenConfig c, GoldenResults results) {
                throw new IllegalStateException("boom");
            }
        };
        GoldenRun.Outcome outcome = GoldenRun.run(List.of(config), List.of(new OnePass(), throwing), List.of(), true);
        JsonNode node = outcome.report().path("configs").path(config.getFileName().toString());
        assertTrue(outcome.failures().stream().anyMatch(f -> f.contains("[throwing]") && f.contains("boom")));
        assertTrue(node.path("unchecked").size() > 10, node.toString());
        // pooler_output was reported, the other text encoder tensors were not
        assertTrue(node.path("unchecked").toString().contains("text_encoder.safetensors:last_hidden_state"));
        assertFalse(node.path("unchecked").toString().contains("text_encoder.safetensors:pooler_output"));
        assertTrue(outcome.failures().stream().anyMatch(f -> f.contains("[unchecked]")), "requireAll counts them");
    }
}
