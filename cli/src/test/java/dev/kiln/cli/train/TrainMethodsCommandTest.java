package dev.kiln.cli.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.cli.generate.GenerateCommand;
import dev.kiln.cli.train.TrainCommandTest.Run;
import dev.kiln.diffusion.safetensors.SafeTensors;
import dev.kiln.diffusion.train.TinyTrainingFixture;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code kiln train} with the other three methods on the tiny SD 1.5 model over real photos, each output used by
 * {@code kiln generate}: a Textual Inversion embedding ({@code --embedding}), a DreamBooth single-file checkpoint and a
 * fine-tuned diffusers folder ({@code --model}); and {@code --resume} from a state continuing exactly.
 */
class TrainMethodsCommandTest {

    @TempDir
    Path root;

    private static Run run(Callable<Integer> command, String... args) {
        return TrainCommandTest.run(command, args);
    }

    private Run train(Path job, String... more) {
        List<String> args = new java.util.ArrayList<>(List.of(job.toString(), "--root", root.toString(),
                "--tokenizer", root.resolve("tokenizer").toString()));
        args.addAll(List.of(more));
        return run(new TrainCommand(), args.toArray(String[]::new));
    }

    private Run generate(String... args) {
        List<String> common = List.of("--tokenizer", root.resolve("tokenizer").toString(), "--w", "64", "--h", "64",
                "--steps", "2", "--seed", "5");
        return run(new GenerateCommand(), Stream.concat(common.stream(), Arrays.stream(args)).toArray(String[]::new));
    }

    @Test
    void textualInversionEmbeddingIsUsedByItsToken() throws Exception {
        Path job = TinyTrainingFixture.writeJob(root, "ti", TinyTrainingFixture.methodJob("textual_inversion",
                "token_string = \"zq\"\nnum_vectors_per_token = 2\ninit_word = \"s\"\nlearning_rate = 0.05\n"
                        + "caption_prefix = \"zq\"\nmax_train_steps = 4\nsave_every_n_steps = 2\n"
                        + "sample_every_n_steps = 4\nsample_prompts = [\"zq s --w 64 --h 64 --s 2 --d 3\"]\n",
                TinyTrainingFixture.PHOTOS_SUBSET));
        Run trained = train(job);
        assertEquals(0, trained.status(), trained.err());
        assertTrue(trained.err().contains("it/s ETA"), trained.err());
        Path out = root.resolve("outputs/ti");
        assertTrue(Files.isRegularFile(out.resolve("zq-step00000002.safetensors")));
        Path embedding = out.resolve("zq.safetensors");
        assertTrue(Files.isRegularFile(embedding));
        try (Stream<Path> samples = Files.list(out.resolve("sample"))) {
            assertEquals(1, samples.count());
        }

        String model = TinyTrainingFixture.tinySd15().toString();
        Path image = root.resolve("ti.png");
        Run with = generate("--model", model, "--embedding", embedding.toString(), "--prompt", "zq s c",
                "--out", image.toString());
        assertEquals(0, with.status(), with.err());
        assertTrue(Files.size(image) > 0);
        // without the embedding the letter vocabulary cannot encode "zq": the embedding is what gives it meaning
        Run without = generate("--model", model, "--prompt", "zq s c", "--out", root.resolve("no.png").toString());
        assertEquals(1, without.status(), without.err());
    }

    @Test
    void dreamboothCheckpointGeneratesAndResumeContinuesExactly() throws Exception {
        Path job = TinyTrainingFixture.writeJob(root, "db", TinyTrainingFixture.methodJob("dreambooth",
                "learning_rate = 0.0005\nmax_train_steps = 4\nsave_every_n_steps = 2\nsave_state = true\n"
                        + "output_name = \"db\"\nsave_precision = \"float\"\n",
                TinyTrainingFixture.PHOTOS_SUBSET));
        Run trained = train(job);
        assertEquals(0, trained.status(), trained.err());
        Path out = root.resolve("outputs/db");
        Path last = out.resolve("db.safetensors");
        assertTrue(Files.isRegularFile(out.resolve("db-step00000002.safetensors")));
        assertTrue(Files.isDirectory(out.resolve("db-step00000002-state")));
        assertTrue(Files.isDirectory(out.resolve("db-state")));
        byte[] straight = tensorsOf(last);

        Run resumed = train(job, "--resume", out.resolve("db-step00000002-state").toString());
        assertEquals(0, resumed.status(), resumed.err());
        assertTrue(resumed.err().contains("completed after 4 steps"), resumed.err());
        assertArrayEquals(straight, tensorsOf(last), "resumed checkpoint equals the uninterrupted one");

        String base = TinyTrainingFixture.tinySd15().toString();
        Path before = root.resolve("base.png");
        Path after = root.resolve("db.png");
        Run a = generate("--model", base, "--prompt", "s c", "--out", before.toString());
        Run b = generate("--model", last.toString(), "--prompt", "s c", "--out", after.toString());
        assertEquals(0, a.status(), a.err());
        assertEquals(0, b.status(), b.err());
        assertFalse(Arrays.equals(Files.readAllBytes(before), Files.readAllBytes(after)),
                "the DreamBooth checkpoint changes the image");
    }

    @Test
    void finetuneDiffusersFolderGenerates() throws Exception {
        Files.createDirectories(root);
        Files.writeString(root.resolve("meta.json"), "{\"astronaut.png\": {\"caption\": \"s c\"},"
                + " \"rocket.jpg\": {\"tags\": \"r, d\"}}");
        Path job = TinyTrainingFixture.writeJob(root, "ft", TinyTrainingFixture.methodJob("finetune",
                "learning_rate = 0.0005\ntrain_text_encoder = true\nmax_train_steps = 2\n"
                        + "save_model_as = \"diffusers\"\n",
                "  [[datasets.subsets]]\n  image_dir = \"datasets/photos/5_s c\"\n  metadata_file = \"meta.json\"\n"));
        Run trained = train(job);
        assertEquals(0, trained.status(), trained.err());
        Path folder = root.resolve("outputs/ft/last");
        assertTrue(Files.isRegularFile(folder.resolve("unet/diffusion_pytorch_model.safetensors")));
        Run g = generate("--model", folder.toString(), "--prompt", "s c", "--out", root.resolve("ft.png").toString());
        assertEquals(0, g.status(), g.err());
    }

    /** The tensor bytes of a safetensors file (its metadata holds save times, which differ between runs). */
    private static byte[] tensorsOf(Path file) throws Exception {
        try (SafeTensors st = SafeTensors.open(file)) {
            java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
            java.io.DataOutputStream data = new java.io.DataOutputStream(out);
            for (String name : new java.util.TreeSet<>(st.names())) {
                data.writeUTF(name);
                for (float f : st.readFloats(name)) {
                    data.writeFloat(f);
                }
            }
            return out.toByteArray();
        }
    }
}
