package dev.kiln.cli.generate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class LoraSpecTest {

    @Test
    void multiplierDefaultsToOneAndFollowsTheLastColon() {
        assertEquals(new LoraSpec(Path.of("style.safetensors"), 1.0f), LoraSpec.parse("style.safetensors"));
        assertEquals(new LoraSpec(Path.of("style.safetensors"), 0.8f), LoraSpec.parse("style.safetensors:0.8"));
        assertEquals(new LoraSpec(Path.of("a:b/style.safetensors"), -0.5f), LoraSpec.parse("a:b/style.safetensors:-0.5"));
        assertEquals(new LoraSpec(Path.of("loras/x:y.safetensors"), 1.0f), LoraSpec.parse("loras/x:y.safetensors"));
    }

    @Test
    void badSpecsNameTheProblem() {
        IllegalArgumentException word = assertThrows(IllegalArgumentException.class,
                () -> LoraSpec.parse("style.safetensors:strong"));
        assertTrue(word.getMessage().contains("strong"), word.getMessage());
        assertThrows(IllegalArgumentException.class, () -> LoraSpec.parse("style.safetensors:"));
        assertThrows(IllegalArgumentException.class, () -> LoraSpec.parse("style.safetensors:NaN"));
        assertThrows(IllegalArgumentException.class, () -> LoraSpec.parse(":0.5"));
    }
}
