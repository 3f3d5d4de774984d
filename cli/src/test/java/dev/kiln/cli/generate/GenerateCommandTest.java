package dev.kiln.cli.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
        tokenizer = Files.createDirectories(dir.resolve("tokenizer"));
        StringBuilder vocab = new StringBuilder("\"!\":0");
        for (char c = 'a'; c <= 'z'; c++) {
            vocab.append(",\"").append(c).append("</w>\":").append(10 + c - 'a');
        }
        Files.writeString(tokenizer.resolve("tokenizer.json"), "{\"model\":{\"type\":\"BPE\",\"vocab\":{" + vocab
                + "},\"merges\":[]},\"added_tokens\":[{\"id\":998,\"content\":\"<|startoftext|>\"},"
                + "{\"id\":999,\"content\":\"<|endoftext|>\"}]}");
    }

    /** SD 2.x pads with id 0 ("!"), as the tiny SD2 text encoder was made with. */
    private Path sd2Tokenizer() throws IOException {
        Path sd2 = Files.createDirectories(dir.resolve("tokenizer-sd2"));
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

    /** A tiny-sd15 run of 64×64, 3 euler_a steps, seed 1, plus {@code extra}; returns the PNG's bytes. */
    private byte[] sd15(String name, String... extra) throws IOException {
        Path png = dir.resolve(name + ".png");
        List<String> args = new ArrayList<>(List.of("--model", SD15.resolve("diffusers").toString(),
                "--tokenizer", tokenizer.toString(), "--prompt", "a (c:1.2) e", "--negative", "x y",
                "--sampler", "euler_a", "--steps", "3", "--seed", "1", "--w", "64", "--h", "64",
                "--out", png.toString()));
        args.addAll(Arrays.asList(extra));
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
        byte[] first = sd15("first");
        BufferedImage image = decode(first);
        assertEquals(64, image.getWidth());
        assertEquals(64, image.getHeight());
        assertArrayEquals(first, sd15("again"), "same seed, same bytes");
        assertFalse(Arrays.equals(first, sd15("other-seed", "--seed", "2")), "another seed, another image");
        assertFalse(Arrays.equals(first, sd15("other-prompt", "--prompt", "z")), "another prompt, another image");
    }

    @Test
    void sizesAreRoundedDownToAMultipleOf8() throws IOException {
        BufferedImage image = decode(sd15("odd", "--w", "70", "--h", "103"));
        assertEquals(64, image.getWidth());
        assertEquals(96, image.getHeight());
    }

    @Test
    void theLoraChangesTheImageAndAtZeroLeavesItUnchanged() throws IOException {
        byte[] plain = sd15("plain");
        byte[] full = sd15("lora-1", "--lora", lora(SD15));
        byte[] half = sd15("lora-half", "--lora", lora(SD15) + ":0.5");
        assertFalse(Arrays.equals(plain, full), "the LoRA at 1.0 changes the image");
        assertFalse(Arrays.equals(full, half), "the multiplier matters");
        assertArrayEquals(plain, sd15("lora-0", "--lora", lora(SD15) + ":0.0"), "multiplier 0 = no LoRA");
        assertArrayEquals(full, sd15("lora-1-explicit", "--lora", lora(SD15) + ":1"), "default multiplier is 1.0");
    }

    @Test
    void singleFileCheckpointGivesTheFolderImage() throws IOException {
        byte[] folder = sd15("folder", "--lora", lora(SD15));
        // the tiny text encoder has 4 heads of 8, not the 64-wide heads a single file implies: give its configs
        byte[] single = sd15("single", "--lora", lora(SD15), "--model", singleFile(SD15),
                "--model-config", SD15.resolve("diffusers").toString());
        assertArrayEquals(folder, single);
        // without configs the file still loads with the Stable Diffusion defaults and gives an image
        assertEquals(64, decode(sd15("single-defaults", "--model", singleFile(SD15))).getWidth());
    }

    @Test
    void sd2VPredictionModelWithItsLoraAndClipSkip() throws IOException {
        Path tok = sd2Tokenizer();
        List<byte[]> images = new ArrayList<>();
        for (String[] extra : List.of(new String[0], new String[] {"--lora", lora(SD2) + ":0.8"},
                new String[] {"--v-parameterization=false"}, new String[] {"--model", singleFile(SD2),
                        "--model-config", SD2.resolve("diffusers").toString()})) {
            Path png = dir.resolve("sd2-" + images.size() + ".png");
            List<String> args = new ArrayList<>(List.of("--model", SD2.resolve("diffusers").toString(),
                    "--tokenizer", tok.toString(), "--prompt", "a b", "--sampler", "ddim", "--steps", "2",
                    "--seed", "5", "--w", "64", "--h", "64", "--clip-skip", "2", "--out", png.toString()));
            args.addAll(Arrays.asList(extra));
            Run run = generate(args.toArray(String[]::new));
            assertEquals(0, run.status(), run.err());
            images.add(Files.readAllBytes(png));
        }
        BufferedImage image = decode(images.get(0));
        assertEquals(64, image.getWidth());
        assertEquals(64, image.getHeight());
        assertFalse(Arrays.equals(images.get(0), images.get(1)), "the SD2 LoRA changes the image");
        assertFalse(Arrays.equals(images.get(0), images.get(2)), "--v-parameterization=false reads the output as eps");
        assertArrayEquals(images.get(0), images.get(3), "single file with configs = folder (v-pred inferred)");
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
