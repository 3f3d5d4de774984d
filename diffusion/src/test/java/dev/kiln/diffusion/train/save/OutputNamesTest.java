package dev.kiln.diffusion.train.save;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** sd-scripts' §12 names. */
class OutputNamesTest {

    @Test
    void namesWithOutputName() {
        assertEquals("mylora-000003.safetensors", OutputNames.epochModel("mylora", 3, "safetensors"));
        assertEquals("mylora-step00000500.safetensors", OutputNames.stepModel("mylora", 500, "safetensors"));
        assertEquals("mylora.safetensors", OutputNames.finalModel("mylora", "safetensors"));
        assertEquals("mylora-000003-state", OutputNames.epochState("mylora", 3));
        assertEquals("mylora-step00000500-state", OutputNames.stepState("mylora", 500));
        assertEquals("mylora-state", OutputNames.finalState("mylora"));
    }

    @Test
    void eachKindHasItsOwnDefaultName() {
        assertEquals("epoch-000003.pt", OutputNames.epochModel(null, 3, "pt"));
        assertEquals("at-step00000500.safetensors", OutputNames.stepModel(null, 500, "safetensors"));
        assertEquals("last.safetensors", OutputNames.finalModel(null, "safetensors"));
        assertEquals("epoch-000012-state", OutputNames.epochState(null, 12));
        assertEquals("at-step00001000-state", OutputNames.stepState(null, 1000));
        assertEquals("last-state", OutputNames.finalState(null));
    }

    @Test
    void wideNumbersAndEmptyNameAsPythonFormatsThem() {
        assertEquals("x-1234567.safetensors", OutputNames.epochModel("x", 1234567, "safetensors"));
        assertEquals("x-step123456789.ckpt", OutputNames.stepModel("x", 123456789, "ckpt"));
        // only None falls back to the default name
        assertEquals("-000001.safetensors", OutputNames.epochModel("", 1, "safetensors"));
    }
}
