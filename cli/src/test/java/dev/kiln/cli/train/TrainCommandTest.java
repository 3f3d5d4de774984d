package dev.kiln.cli.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import dev.kiln.cli.generate.GenerateCommand;
import dev.kiln.diffusion.lora.LoraNetwork;
import dev.kiln.diffusion.safetensors.SafeTensors;
import dev.kiln.diffusion.train.TinyTrainingFixture;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code kiln train} on the tiny SD 1.5 model over real image files: sd-scripts' output files with their metadata,
 * samples, and a LoRA that {@code kiln generate --lora} applies.
 */
class TrainCommandTest {

    @TempDir
    Path root;

    /** A command's exit status and standard error (shared with {@link TrainMethodsCommandTest}). */
    record Run(int status, String err) {
    }

    static Run run(Callable<Integer> command, String... args) {
        StringWriter err = new StringWriter();
        CommandLine cmd = new CommandLine(command);
        cmd.setErr(new PrintWriter(err));
        cmd.setOut(new PrintWriter(new StringWriter()));
        return new Run(cmd.execute(args), err.toString());
    }

    @Test
    void trainsSavesSamplesAndTheLoraGenerates() throws Exception {
        Path job = TinyTrainingFixture.writeRun(root, "circles", "max_train_steps = 8\nsave_every_n_steps = 4\n"
                + "output_name = \"circles\"\nsample_every_n_steps = 8\nsave_precision = \"fp16\"\n"
                + "sample_prompts = [\"s c --w 64 --h 64 --s 2 --d 5\"]\n");
        Run train = run(new TrainCommand(), job.toString(), "--root", root.toString(), "--tokenizer",
                root.resolve("tokenizer").toString());
        assertEquals(0, train.status(), train.err());
        assertTrue(train.err().contains("train   ["), train.err());
        assertTrue(train.err().contains("it/s ETA"), train.err());

        Path out = root.resolve("outputs/circles");
        Path last = out.resolve("circles.safetensors");
        assertTrue(Files.isRegularFile(out.resolve("circles-step00000004.safetensors")));
        assertTrue(Files.isRegularFile(last));
        try (Stream<Path> samples = Files.list(out.resolve("sample"))) {
            List<String> names = samples.map(p -> p.getFileName().toString()).toList();
            assertEquals(1, names.size(), names.toString());
            assertTrue(names.get(0).matches("circles_000008_00_\\d{14}_5\\.png"), names.get(0));
        }

        try (SafeTensors st = SafeTensors.open(last)) {
            Map<String, String> meta = st.metadata();
            assertEquals("networks.lora", meta.get("ss_network_module"));
            assertEquals("4", meta.get("ss_network_dim"));
            assertEquals("8", meta.get("ss_steps"));
            assertEquals("sd_v1", meta.get("ss_base_model_version"));
            assertEquals("circles", meta.get("ss_output_name"));
            assertEquals("torch.optim.adamw.AdamW", meta.get("ss_optimizer"));
            assertTrue(meta.get("ss_tag_frequency").contains("\"s c\""), meta.get("ss_tag_frequency"));
            assertEquals(dataSectionSha256(last), meta.get("sshs_model_hash"));
            assertTrue(st.names().stream().anyMatch(n -> n.startsWith("lora_unet_")));
            assertTrue(st.names().stream().anyMatch(n -> n.startsWith("lora_te_text_model_encoder_layers_")));
            assertEquals("F16", st.info(st.names().iterator().next()).dtype().name());
        }
        try (NDManager manager = NDManager.newBaseManager()) {
            LoraNetwork loaded = LoraNetwork.load(last, manager);
            assertFalse(loaded.modules().isEmpty());
        }

        String model = TinyTrainingFixture.tinySd15().toString();
        String tokenizer = root.resolve("tokenizer").toString();
        Path plain = root.resolve("plain.png");
        Path withLora = root.resolve("lora.png");
        List<String> common = List.of("--model", model, "--tokenizer", tokenizer, "--prompt", "s c", "--w", "64",
                "--h", "64", "--steps", "2", "--seed", "5");
        Run a = run(new GenerateCommand(), concat(common, "--out", plain.toString()));
        Run b = run(new GenerateCommand(), concat(common, "--lora", last + ":1.0", "--out", withLora.toString()));
        assertEquals(0, a.status(), a.err());
        assertEquals(0, b.status(), b.err());
        assertFalse(Arrays.equals(Files.readAllBytes(plain), Files.readAllBytes(withLora)),
                "the trained LoRA changes the image");
    }

    @Test
    void anUnknownKeyIsNamedWithStatusTwo() {
        Path job = TinyTrainingFixture.writeRun(root, "bad", "network_dimm = 4\n");
        Run train = run(new TrainCommand(), job.toString(), "--root", root.toString());
        assertEquals(2, train.status(), train.err());
        assertTrue(train.err().contains("network_dimm"), train.err());
    }

    private static String[] concat(List<String> head, String... tail) {
        return Stream.concat(head.stream(), Arrays.stream(tail)).toArray(String[]::new);
    }

    /** SHA-256 of everything after the safetensors header, as sd-scripts' sshs_model_hash (A1111 computes it so). */
    private static String dataSectionSha256(Path file) throws IOException, java.security.NoSuchAlgorithmException {
        byte[] bytes = Files.readAllBytes(file);
        long headerLength = ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        MessageDigest digest = MessageDigest.getInstance("SHA-256");
        digest.update(bytes, (int) (8 + headerLength), (int) (bytes.length - 8 - headerLength));
        return HexFormat.of().formatHex(digest.digest());
    }
}
