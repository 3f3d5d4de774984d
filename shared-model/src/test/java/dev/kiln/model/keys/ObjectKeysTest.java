package dev.kiln.model.keys;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class ObjectKeysTest {

    static Stream<Arguments> unsafeKeys() {
        return Stream.of(
                Arguments.of("", "empty"),
                Arguments.of(null, "empty"),
                Arguments.of("/datasets/a/1_x/a.png", "starts with '/'"),
                Arguments.of("datasets/../../etc/passwd", "'..' segment"),
                Arguments.of("..", "'..' segment"),
                Arguments.of("datasets/a/1_x/..", "'..' segment"),
                Arguments.of("datasets/./a.png", "'.' segment"),
                Arguments.of("./a.png", "'.' segment"),
                Arguments.of("datasets//a.png", "empty path segment"),
                Arguments.of("datasets\\a\\1_x\\a.png", "backslash"),
                Arguments.of("datasets/a/1_x/a\u0000.png", "control character U+0000"),
                Arguments.of("datasets/a/1_x/a\n.png", "control character U+000A"),
                Arguments.of("datasets/a/1_x/a\u007f.png", "control character U+007F"),
                Arguments.of("datasets/a/1_x/a\u0085.png", "control character U+0085"),
                Arguments.of("datasets/a/1_x/a\uD800.png", "lone surrogate"),
                Arguments.of("datasets/a/1_x/a\uDC00.png", "lone surrogate"),
                Arguments.of("datasets/" + "x".repeat(1016), "1025 UTF-8 bytes"),
                Arguments.of("datasets/" + "é".repeat(508), "1025 UTF-8 bytes"));
    }

    @ParameterizedTest(name = "[{index}] {1}")
    @MethodSource("unsafeKeys")
    void unsafeKeysAreRejectedWithTheReason(String key, String reason) {
        String problem = ObjectKeys.problem(key);
        assertTrue(problem != null && problem.contains(reason), () -> "expected '" + reason + "' for " + key + ", got " + problem);
        UnsafeKeyException e = assertThrows(UnsafeKeyException.class, () -> ObjectKeys.requireSafe(key));
        assertEquals(problem, e.reason());
        assertTrue(e.getMessage().contains(problem));
        assertFalse(e.getMessage().contains("\n"), "control characters are escaped in messages");
        ParsedKey parsed = ObjectKeys.parse(key);
        assertEquals(KeyKind.INVALID, parsed.kind());
        assertEquals(KeyProblem.UNSAFE_KEY, parsed.problem());
    }

    @ParameterizedTest
    @ValueSource(strings = {"datasets/猫/5_ねこ ネコ/写真 01.jpg", "a..b/...png", "datasets/cats/", "x",
            "datasets/a/1_x/a+b%20c.png", "emoji/\uD83D\uDC08.png"})
    void ordinaryKeysAreSafe(String key) {
        assertNull(ObjectKeys.problem(key));
        assertEquals(key, ObjectKeys.requireSafe(key));
    }

    @Test
    void lengthLimitCountsUtf8Bytes() {
        String exactly1024 = "datasets/" + "é".repeat(507) + "x";
        assertEquals(1024, exactly1024.getBytes(StandardCharsets.UTF_8).length);
        assertTrue(ObjectKeys.isSafe(exactly1024));
        assertFalse(ObjectKeys.isSafe(exactly1024 + "y"));
    }

    @Test
    void trainingImageInKohyaFolder() {
        ParsedKey k = ObjectKeys.parse("datasets/cats/10_sks cat/img 001.png");
        assertEquals(KeyKind.TRAINING_IMAGE, k.kind());
        assertTrue(k.isValid());
        assertTrue(k.isImage());
        assertEquals("cats", k.dataset());
        assertEquals("img 001.png", k.fileName());
        assertEquals("img 001", k.stem());
        assertEquals("png", k.extension());
        SubsetFolder s = k.subset();
        assertEquals("10_sks cat", s.folder());
        assertEquals(10, s.repeats());
        assertEquals("sks cat", s.classTokens());
        assertEquals("sks", s.identifier());
        assertEquals("cat", s.className());
        assertFalse(s.isReg());
        assertEquals("datasets/cats/10_sks cat/img 001.txt", k.sidecarKey("txt"));
        assertEquals("datasets/cats/10_sks cat/img 001.caption", k.sidecarKey(".caption"));
    }

    @Test
    void regularizationImage() {
        ParsedKey k = ObjectKeys.parse("datasets/cats/reg/1_cat/r.JPG");
        assertEquals(KeyKind.REG_IMAGE, k.kind());
        assertEquals("jpg", k.extension());
        assertEquals(1, k.subset().repeats());
        assertEquals("cat", k.subset().classTokens());
        assertNull(k.subset().identifier());
        assertEquals("cat", k.subset().className());
        assertTrue(k.subset().isReg());
    }

    @Test
    void folderNamesFollowSdScripts() {
        // sd-scripts: split at the first "_", int() of the first piece, the rest is class_tokens.
        SubsetFolder ab = ObjectKeys.parse("datasets/d/5_a_b/x.png").subset();
        assertEquals(5, ab.repeats());
        assertEquals("a_b", ab.classTokens());
        SubsetFolder bare = ObjectKeys.parse("datasets/d/3/x.png").subset();
        assertEquals(3, bare.repeats());
        assertEquals("", bare.classTokens());
        SubsetFolder signed = ObjectKeys.parse("datasets/d/+2_x y z/x.png").subset();
        assertEquals(2, signed.repeats());
        assertEquals("x", signed.identifier());
        assertEquals("y z", signed.className());
        SubsetFolder unicode = ObjectKeys.parse("datasets/猫/5_ねこ ネコ/写真 01.webp").subset();
        assertEquals(5, unicode.repeats());
        assertEquals("ねこ ネコ", unicode.classTokens());
    }

    @ParameterizedTest
    @ValueSource(strings = {"abc", "abc_x", "0_x", "-1_x", "_x", "1.5_x", "99999999999_x"})
    void imagesInFoldersWithoutRepeatsAreRejected(String folder) {
        ParsedKey k = ObjectKeys.parse("datasets/d/" + folder + "/a.png");
        assertEquals(KeyKind.INVALID, k.kind());
        assertEquals(KeyProblem.BAD_FOLDER_NAME, k.problem());
        assertTrue(k.detail().contains("'" + folder + "'"), k.detail());
        assertEquals("d", k.dataset());
    }

    @Test
    void zeroRepeatsSaysWhy() {
        assertTrue(ObjectKeys.parse("datasets/d/0_x/a.png").detail().contains("0 repeats"));
    }

    @Test
    void captionsAndCustomCaptionExtensions() {
        ParsedKey txt = ObjectKeys.parse("datasets/cats/10_sks cat/img 001.TXT");
        assertEquals(KeyKind.CAPTION, txt.kind());
        assertEquals("img 001", txt.stem());
        assertEquals(10, txt.subset().repeats());
        assertEquals(KeyKind.CAPTION, ObjectKeys.parse("datasets/cats/10_sks cat/a.caption").kind());

        KeyLayout custom = new KeyLayout(java.util.List.of("cap"));
        assertEquals(KeyKind.CAPTION, custom.parse("datasets/cats/10_sks cat/a.cap").kind());
        assertEquals(KeyKind.OTHER, custom.parse("datasets/cats/10_sks cat/a.txt").kind());
        assertThrows(IllegalArgumentException.class, () -> new KeyLayout(java.util.List.of(".png")));
        assertThrows(IllegalArgumentException.class, () -> new KeyLayout(java.util.List.of()));
    }

    @Test
    void hiddenFilesAndFoldersAreRejected() {
        ParsedKey file = ObjectKeys.parse("datasets/cats/10_sks cat/.hidden.png");
        assertEquals(KeyProblem.HIDDEN_FILE, file.problem());
        assertTrue(file.detail().contains(".hidden.png"));
        assertEquals(KeyProblem.HIDDEN_FILE, ObjectKeys.parse("datasets/cats/10_sks cat/.DS_Store").problem());
        assertEquals(KeyProblem.HIDDEN_FILE, ObjectKeys.parse("datasets/cats/.git/1_x/a.png").problem());
    }

    @Test
    void imagesOutsideSubsetFoldersAreRejectedOtherFilesIgnored() {
        assertEquals(KeyProblem.NOT_IN_SUBSET_FOLDER, ObjectKeys.parse("datasets/cats/a.png").problem());
        assertEquals(KeyProblem.NOT_IN_SUBSET_FOLDER, ObjectKeys.parse("datasets/cats/reg/a.png").problem());
        assertEquals(KeyProblem.NOT_IN_SUBSET_FOLDER, ObjectKeys.parse("datasets/cats/10_x/sub/a.png").problem());
        assertEquals(KeyProblem.NOT_IN_SUBSET_FOLDER, ObjectKeys.parse("datasets/a.png").problem());
        assertEquals(KeyProblem.UNSUPPORTED_FORMAT, ObjectKeys.parse("datasets/cats/10_x/anim.GIF").problem());
        ParsedKey pdf = ObjectKeys.parse("datasets/cats/10_x/notes.pdf");
        assertEquals(KeyKind.OTHER, pdf.kind());
        assertTrue(pdf.detail().contains("not an image or caption"));
        assertEquals(KeyKind.OTHER, ObjectKeys.parse("datasets/cats/10_x/a_512x512_sd.npz").kind());
        assertEquals(KeyKind.DIRECTORY_MARKER, ObjectKeys.parse("datasets/cats/10_x/").kind());
    }

    @Test
    void otherAreasOfTheBucket() {
        ParsedKey meta = ObjectKeys.parse("datasets/cats/metadata.json");
        assertEquals(KeyKind.DATASET_METADATA, meta.kind());
        assertEquals("cats", meta.dataset());
        ParsedKey job = ObjectKeys.parse("jobs/cat-lora/job.toml");
        assertEquals(KeyKind.JOB_SPEC, job.kind());
        assertEquals("cat-lora", job.job());
        assertEquals(KeyKind.OTHER, ObjectKeys.parse("jobs/cat-lora/notes.toml").kind());
        assertEquals(KeyKind.MODEL, ObjectKeys.parse("models/sd15.safetensors").kind());
        assertEquals(KeyKind.OUTPUT, ObjectKeys.parse("outputs/cat-lora/plan.json").kind());
        assertEquals("cat-lora", ObjectKeys.parse("outputs/cat-lora/plan.json").job());
        assertEquals(KeyKind.OTHER, ObjectKeys.parse("random.bin").kind());
    }

    @Test
    void builders() {
        String vae = "0a1b2c";
        String img = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assertEquals("cache/latents/0a1b2c/" + img + "_512x768.safetensors", ObjectKeys.latentCache(vae, img, 512, 768, false));
        assertEquals("cache/latents/0a1b2c/" + img + "_512x768_flip.safetensors", ObjectKeys.latentCache(vae, img, 512, 768, true));
        assertEquals(KeyKind.CACHE, ObjectKeys.parse(ObjectKeys.latentCache(vae, img, 64, 64, true)).kind());
        assertThrows(IllegalArgumentException.class, () -> ObjectKeys.latentCache(vae, "ABC", 512, 512, false));
        assertThrows(IllegalArgumentException.class, () -> ObjectKeys.latentCache("../x", img, 512, 512, false));
        assertThrows(IllegalArgumentException.class, () -> ObjectKeys.latentCache(vae, img, 0, 512, false));

        assertEquals("outputs/j/mylora.safetensors", ObjectKeys.finalModel("j", "mylora"));
        assertEquals("outputs/j/mylora-step00000500.safetensors", ObjectKeys.stepModel("j", "mylora", 500));
        assertEquals("outputs/j/mylora-000003.safetensors", ObjectKeys.epochModel("j", "mylora", 3));
        assertEquals("outputs/j/samples/mylora_e000003_00.png", ObjectKeys.sample("j", "mylora", ObjectKeys.SampleAt.EPOCH, 3, 0));
        assertEquals("outputs/j/state/samples/step-40.safetensors", ObjectKeys.sampleNetwork("j", 40));
        assertEquals("outputs/j/samples/mylora_s000500_03.png", ObjectKeys.sample("j", "mylora", ObjectKeys.SampleAt.STEP, 500, 3));
        assertEquals("outputs/j/plan.json", ObjectKeys.plan("j"));
        assertEquals("outputs/j/events.jsonl", ObjectKeys.eventLog("j"));
        assertEquals("outputs/j/state/", ObjectKeys.statePrefix("j"));
        assertEquals("outputs/j/state/mylora-step00000500-state/optimizer.bin",
                ObjectKeys.stateKey("j", "mylora-step00000500-state/optimizer.bin"));
        assertEquals("jobs/cat-lora/job.toml", ObjectKeys.jobSpec("cat-lora"));
        assertEquals("datasets/cats/", ObjectKeys.datasetPrefix("cats"));
        assertEquals("datasets/cats/metadata.json", ObjectKeys.datasetMetadata("cats"));
        assertEquals("s3://kiln/outputs/j/mylora.safetensors", ObjectKeys.s3Uri("kiln", ObjectKeys.finalModel("j", "mylora")));
    }

    @Test
    void buildersRejectUnsafeNamesNamingTheField() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ObjectKeys.jobSpec("a/b"));
        assertTrue(e.getMessage().startsWith("job 'a/b'"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ObjectKeys.finalModel("j", ".."));
        assertTrue(e.getMessage().startsWith("output_name"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ObjectKeys.datasetPrefix(""));
        assertThrows(UnsafeKeyException.class, () -> ObjectKeys.stateKey("j", "../../jobs/x/job.toml"));
        assertThrows(IllegalArgumentException.class, () -> ObjectKeys.stepModel("j", "m", -1));
        assertThrows(IllegalArgumentException.class, () -> ObjectKeys.s3Uri("kiln", "/etc/passwd"));
    }
}
