package dev.kiln.cli.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.diffusion.bench.LetterTokenizer;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code kiln generate} end to end on the real tiny golden models and the kohya LoRA files beside them: real
 * safetensors in, real PNG out. Images are small (64 px) and runs short (2-3 steps) to keep the suite fast.
 */
class GenerateCommandTest {

    private static final Path GOLDEN = Path.of(System.getProperty("golden.root", "/work/shared/golden"));
    private static final Path SD15 = GOLDEN.resolve("tiny-sd15");
    private static final Path SD2 = GOLDEN.resolve("tiny-sd2-vpred");

    @TempDir
    Path dir;

    /** The tiny models have a 1000-id vocabulary and ship no tokenizer: single letters, BOS 998, EOS 999. */
    private Path tokenizer;

    private record Run(int status, String out, String err) {
    }

    @BeforeEach
    void writeTinyTokenizer() throws IOException {
        tokenizer = LetterTokenizer.write(dir.resolve("tokenizer"));
    }

    /** SD 2.x pads with id 0 ("!"), as the tiny SD2 text encoder was made with. */
    private Path sd2Tokenizer() throws IOException {
        Path sd2 = dir.resolve("tokenizer-sd2");
        if (Files.isDirectory(sd2)) {
            return sd2;
        }
        Files.createDirectories(sd2);
        Files.copy(tokenizer.resolve("tokenizer.json"), sd2.resolve("tokenizer.json"));
        Files.writeString(sd2.resolve("special_tokens_map.json"), "{\"pad_token\":\"!\"}");
        return sd2;
    }

    private static Run generate(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cmd = new CommandLine(new GenerateCommand());
        cmd.setOut(new PrintWriter(out));
        cmd.setErr(new PrintWriter(err));
        int status = cmd.execute(args);
        return new Run(status, out.toString(), err.toString());
    }

    /**
     * A run of {@code config}'s diffusers folder at 64×64, 2 steps, seed 5, with {@code overrides} replacing the
     * value of an option given here (or added); returns the PNG's bytes.
     */
    private byte[] image(Path config, String name, String... overrides) throws IOException {
        Path png = dir.resolve(name + ".png");
        boolean sd2 = config.equals(SD2);
        List<String> args = new ArrayList<>(List.of("--model", config.resolve("diffusers").toString(),
                "--tokenizer", (sd2 ? sd2Tokenizer() : tokenizer).toString(), "--prompt", "a (c:1.2) e",
                "--negative", "x y", "--sampler", sd2 ? "ddim" : "euler_a", "--steps", "2", "--seed", "5",
                "--w", "64", "--h", "64", "--clip-skip", sd2 ? "2" : "1", "--out", png.toString()));
        for (int i = 0; i < overrides.length; i++) {
            int at = args.indexOf(overrides[i]);
            boolean hasValue = i + 1 < overrides.length && !overrides[i + 1].startsWith("--");
            if (at >= 0 && hasValue) {
                args.set(at + 1, overrides[++i]);
            } else {
                args.add(overrides[i]);
                if (hasValue) {
                    args.add(overrides[++i]);
                }
            }
        }
        Run run = generate(args.toArray(String[]::new));
        assertEquals(0, run.status(), run.err());
        assertEquals(png.toString(), run.out().strip(), "prints the written path");
        return Files.readAllBytes(png);
    }

    private static BufferedImage decode(byte[] png) throws IOException {
        BufferedImage image = ImageIO.read(new java.io.ByteArrayInputStream(png));
        assertNotNull(image, "not a readable PNG");
        return image;
    }

    private static String lora(Path config) {
        return config.resolve("lora").resolve(config.getFileName() + "-kohya-lora.safetensors").toString();
    }

    private static String singleFile(Path config) {
        return config.resolve("original").resolve(config.getFileName() + "-single-file-fp16.safetensors").toString();
    }

    @Test
    void writesAPngOfTheRequestedSizeReproducibleBySeed() throws IOException {
        byte[] first = image(SD2, "first");
        BufferedImage image = decode(first);
        assertEquals(64, image.getWidth());
        assertEquals(64, image.getHeight());
        assertArrayEquals(first, image(SD2, "again"), "same seed, same bytes");
        assertFalse(Arrays.equals(first, image(SD2, "other-seed", "--seed", "6")), "another seed, another image");
        assertFalse(Arrays.equals(first, image(SD2, "other-prompt", "--prompt", "z")), "another prompt, another image");
        assertFalse(Arrays.equals(first, image(SD2, "eps", "--v-parameterization=false")),
                "--v-parameterization=false reads the model output as epsilon");
    }

    @Test
    void sizesAreRoundedDownToAMultipleOf8() throws IOException {
        BufferedImage image = decode(image(SD2, "odd", "--w", "70", "--h", "103"));
        assertEquals(64, image.getWidth());
        assertEquals(96, image.getHeight());
    }

    @Test
    void theLoraChangesTheImageAndAtZeroLeavesItUnchanged() throws IOException {
        byte[] plain = image(SD2, "plain");
        byte[] full = image(SD2, "lora-1", "--lora", lora(SD2));
        byte[] weaker = image(SD2, "lora-weaker", "--lora", lora(SD2) + ":0.5");
        assertFalse(Arrays.equals(plain, full), "the LoRA at 1.0 changes the image");
        assertFalse(Arrays.equals(full, weaker), "the multiplier matters");
        assertArrayEquals(plain, image(SD2, "lora-0", "--lora", lora(SD2) + ":0.0"), "multiplier 0 = no LoRA");
        assertArrayEquals(full, image(SD2, "lora-1-explicit", "--lora", lora(SD2) + ":1"), "default multiplier 1.0");
    }

    @Test
    void sd2SingleFileCheckpointGivesTheFolderImage() throws IOException {
        // v2 and v-prediction are inferred from the file; the tiny UNet's head counts come from --model-config
        assertArrayEquals(image(SD2, "sd2-folder", "--lora", lora(SD2)), image(SD2, "sd2-single", "--lora", lora(SD2),
                "--model", singleFile(SD2), "--model-config", SD2.resolve("diffusers").toString()));
    }

    @Test
    void sd15FolderAndSingleFileWithLoraGiveTheSameImage() throws IOException {
        // unguided (--cfg 1) to keep the SD1 model's larger 32x32 latents quick
        byte[] folder = image(SD15, "sd15-folder", "--cfg", "1", "--lora", lora(SD15));
        // the tiny text encoder has 4 heads of 8, not the 64-wide heads a single file implies: give its configs
        byte[] single = image(SD15, "sd15-single", "--cfg", "1", "--lora", lora(SD15), "--model", singleFile(SD15),
                "--model-config", SD15.resolve("diffusers").toString());
        assertEquals(64, decode(folder).getWidth());
        assertArrayEquals(folder, single);
    }

    @Test
    void badInputExitsWith2NamingTheProblem() throws IOException {
        String model = SD15.resolve("diffusers").toString();
        String out = dir.resolve("bad.png").toString();
        String tok = tokenizer.toString();

        Run missing = generate("--model", dir.resolve("nope.safetensors").toString(), "--prompt", "a", "--out", out);
        assertEquals(2, missing.status());
        assertTrue(missing.err().contains("nope.safetensors"), missing.err());

        Run badSpec = generate("--model", model, "--tokenizer", tok, "--prompt", "a", "--out", out,
                "--lora", lora(SD15) + ":strong");
        assertEquals(2, badSpec.status());
        assertTrue(badSpec.err().contains("--lora") && badSpec.err().contains("strong"), badSpec.err());

        Run missingLora = generate("--model", model, "--tokenizer", tok, "--prompt", "a", "--out", out,
                "--lora", dir.resolve("gone.safetensors") + ":0.5");
        assertEquals(2, missingLora.status());
        assertTrue(missingLora.err().contains("gone.safetensors"), missingLora.err());

        Run sampler = generate("--model", model, "--tokenizer", tok, "--prompt", "a", "--out", out,
                "--sampler", "plms");
        assertEquals(2, sampler.status());
        assertTrue(sampler.err().contains("plms") && sampler.err().contains("euler_a")
                && sampler.err().contains("ddim"), sampler.err());

        Run wrongLora = generate("--model", model, "--tokenizer", tok, "--prompt", "a", "--out", out,
                "--lora", lora(SD2));
        assertEquals(2, wrongLora.status());
        assertTrue(wrongLora.err().contains("tiny-sd2-vpred-kohya-lora.safetensors"), wrongLora.err());

        Run notALora = generate("--model", model, "--tokenizer", tok, "--prompt", "a", "--out", out,
                "--lora", SD15.resolve("diffusers/unet/diffusion_pytorch_model.safetensors").toString());
        assertEquals(2, notALora.status());
        assertTrue(notALora.err().contains("diffusion_pytorch_model.safetensors"), notALora.err());

        // the CLIP vocabulary does not fit the tiny text encoder: an error, not a crash in the engine
        Run vocabulary = generate("--model", model, "--prompt", "a", "--out", out);
        assertEquals(2, vocabulary.status());
        assertTrue(vocabulary.err().contains("--tokenizer"), vocabulary.err());

        Run clipSkip = generate("--model", model, "--tokenizer", tok, "--prompt", "a", "--out", out,
                "--clip-skip", "9");
        assertEquals(2, clipSkip.status());
        assertTrue(clipSkip.err().contains("--clip-skip"), clipSkip.err());

        Run noPrompt = generate("--model", model, "--out", out);
        assertEquals(2, noPrompt.status());
        assertTrue(noPrompt.err().contains("--prompt"), noPrompt.err());

        assertFalse(Files.exists(dir.resolve("bad.png")), "no image on bad input");
    }
}
