package dev.kiln.diffusion.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.kiln.diffusion.sampling.ImageGenerator;
import dev.kiln.diffusion.sampling.SamplePrompts;
import dev.kiln.diffusion.sampling.StepListener;
import dev.kiln.diffusion.sampling.TextToImage;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The demo's tiny random SD1 model: a diffusers folder the loader reads, with a tokenizer that encodes any text. */
class TinyModelsTest {

    @TempDir
    Path dir;

    @Test
    void theRandomTinyModelLoadsWithItsSpellingTokenizerAndItsWeightsDependOnTheSeed() {
        try (NDManager manager = NDManager.newBaseManager()) {
            StableDiffusionModel a = StableDiffusionLoader.load(TinyModels.writeRandomSd1(dir.resolve("a"), 1), manager);
            StableDiffusionModel b = StableDiffusionLoader.load(TinyModels.writeRandomSd1(dir.resolve("b"), 2), manager);
            assertEquals(1000, a.textEncoderConfig().vocabSize());
            assertArrayEquals(new int[] {10, 28}, a.tokenizer().encode("a s"), "single letters keep their ids");
            assertArrayEquals(new int[] {38, 36, 29, 1, 73}, a.tokenizer().encode("Cat, 1"), "words are spelled");
            float[] image = render(a, manager);
            assertFalse(java.util.Arrays.equals(image, render(b, manager)), "another seed, other weights");
            NDArray w1 = a.unetWeights().get("conv_in.weight");
            NDArray w2 = b.unetWeights().get("conv_in.weight");
            assertNotEquals(w1.toFloatArray()[0], w2.toFloatArray()[0]);
        }
    }

    private static float[] render(StableDiffusionModel model, NDManager manager) {
        ImageGenerator generator = new ImageGenerator(model, model.tokenizer(), List.of(), 1);
        TextToImage.Generated g = generator.generate(
                SamplePrompts.parseLine("a photo of a cat --w 64 --h 64 --s 2 --d 5").resolved("euler_a", 0), manager, StepListener.NONE);
        java.awt.image.BufferedImage image = g.image();
        float[] out = new float[image.getWidth() * image.getHeight()];
        for (int i = 0; i < out.length; i++) {
            out[i] = image.getRGB(i % image.getWidth(), i / image.getWidth());
        }
        return out;
    }
}
