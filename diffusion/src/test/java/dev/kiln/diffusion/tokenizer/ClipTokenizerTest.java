package dev.kiln.diffusion.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.diffusion.golden.GoldenData;
import dev.kiln.diffusion.golden.TokenizerCases;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

class ClipTokenizerTest {

    @TestFactory
    Stream<DynamicTest> everyGoldenCasePasses() {
        List<Path> files = TokenizerCases.caseFiles();
        assertFalse(files.isEmpty(), "no tokenizer/cases.json under " + GoldenData.root());
        return files.stream().flatMap(f -> TokenizerCases.check(f).stream())
                .map(r -> DynamicTest.dynamicTest(r.caseId(), () -> assertTrue(r.passed(), r.caseId() + ": " + r.problem())));
    }

    @Test
    void builtInVocabularyIsTheGoldenOne() {
        Path folder = GoldenData.root().resolve("tokenizer");
        ClipTokenizer golden = ClipTokenizer.fromFiles(folder.resolve("vocab.json"), folder.resolve("merges.txt"), 49407);
        ClipTokenizer builtIn = ClipTokenizer.sd1();
        assertEquals(49408, builtIn.vocabSize());
        assertEquals(49406, builtIn.bosId());
        assertEquals(49407, builtIn.padId());
        assertEquals(0, ClipTokenizer.sd2().padId());
        String text = "masterpiece, (best quality:1.2), 1girl, café, 🐱 cat";
        assertArrayEquals(golden.encode(text), builtIn.encode(text));
        assertArrayEquals(new int[] {320, 1125, 539, 320, 2368}, builtIn.encode("a photo of a cat"));
    }

    @Test
    void readsTokenizerJsonAndModelFolders(@TempDir Path dir) throws IOException {
        // a tiny BPE vocabulary: the byte alphabet is not needed for the words used here
        String tokenizerJson = """
                {"model":{"type":"BPE","vocab":{"c":0,"a":1,"t":2,"t</w>":3,"ca":4,"cat</w>":5,"!":6},
                 "merges":["c a",["ca","t</w>"]]},
                 "added_tokens":[{"id":7,"content":"<|startoftext|>"},{"id":8,"content":"<|endoftext|>"}]}""";
        Files.writeString(dir.resolve("tokenizer.json"), tokenizerJson);
        Files.writeString(dir.resolve("special_tokens_map.json"), "{\"pad_token\":{\"content\":\"!\"}}");
        ClipTokenizer tok = ClipTokenizer.fromFolder(dir);
        assertEquals(6, tok.padId());
        assertArrayEquals(new int[] {5, 5}, tok.encode("CAT cat"));
        long[] ids = tok.tokenize77("cat");
        assertEquals(7, ids[0]);
        assertEquals(5, ids[1]);
        assertEquals(8, ids[2]);
        assertEquals(6, ids[76]);

        Files.writeString(dir.resolve("special_tokens_map.json"), "{\"pad_token\":\"<unk>\"}");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ClipTokenizer.fromFolder(dir));
        assertTrue(e.getMessage().contains("<unk>"), e.getMessage());
    }

    @Test
    void longPromptsAreChunkedAsSdScriptsDoes() {
        int[] ids = new int[80];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = 1000 + i;
        }
        int bos = 49406;
        int eos = 49407;

        long[][] sd1 = TokenChunks.chunk(ids, 150, bos, eos, eos);
        assertEquals(2, sd1.length);
        assertEquals(bos, sd1[0][0]);
        assertEquals(1000, sd1[0][1]);
        assertEquals(1074, sd1[0][75]);
        assertEquals(eos, sd1[0][76], "the last id of the padded sequence (EOS for SD1)");
        assertEquals(bos, sd1[1][0]);
        assertEquals(1075, sd1[1][1]);
        assertEquals(1079, sd1[1][5]);
        assertEquals(eos, sd1[1][6]);
        assertEquals(eos, sd1[1][76]);

        long[][] sd2 = TokenChunks.chunk(ids, 150, bos, eos, 0);
        assertEquals(eos, sd2[0][76], "SD2: a chunk ending in a token gets EOS instead of the pad");
        assertEquals(1079, sd2[1][5]);
        assertEquals(eos, sd2[1][6]);
        assertEquals(0, sd2[1][7]);
        assertEquals(0, sd2[1][76]);

        // a short prompt with 225: the later chunks are empty; SD2 puts an EOS after their BOS
        long[][] empty = TokenChunks.chunk(new int[] {5}, 225, bos, eos, 0);
        assertEquals(3, empty.length);
        assertArrayEquals(new long[] {bos, 5, eos, 0}, Arrays.copyOf(empty[0], 4));
        assertArrayEquals(new long[] {bos, eos, 0, 0}, Arrays.copyOf(empty[1], 4));
        assertArrayEquals(new long[] {bos, eos, 0, 0}, Arrays.copyOf(empty[2], 4));
        long[][] emptySd1 = TokenChunks.chunk(new int[] {5}, 225, bos, eos, eos);
        assertArrayEquals(new long[] {bos, eos, eos, eos}, Arrays.copyOf(emptySd1[2], 4));

        // 300 ids with 225: truncated to 225 tokens, the final chunk ends with the sequence's EOS
        int[] many = new int[300];
        Arrays.fill(many, 7);
        long[][] cut = TokenChunks.chunk(many, 225, bos, eos, eos);
        assertEquals(3, cut.length);
        for (long[] chunk : cut) {
            assertEquals(77, chunk.length);
            assertEquals(bos, chunk[0]);
            assertEquals(7, chunk[75]);
            assertEquals(eos, chunk[76]);
        }
        assertThrows(IllegalArgumentException.class, () -> TokenChunks.chunk(ids, 100, bos, eos, eos));
    }

    @Test
    void realLongPromptKeepsEveryTokenAcrossChunks() {
        ClipTokenizer tok = ClipTokenizer.sd1();
        StringBuilder prompt = new StringBuilder();
        for (int i = 0; i < 40; i++) {
            prompt.append("red cat, ");
        }
        int[] raw = tok.encode(prompt.toString());
        assertEquals(120, raw.length);
        long[][] chunks = tok.tokenize(prompt.toString(), 150);
        assertEquals(2, chunks.length);
        long[] joined = new long[150];
        System.arraycopy(chunks[0], 1, joined, 0, 75);
        System.arraycopy(chunks[1], 1, joined, 75, 75);
        for (int i = 0; i < raw.length; i++) {
            assertEquals(raw[i], joined[i], "token " + i);
        }
        assertEquals(tok.eosId(), joined[120]);
    }

    @Test
    void weightedTokenizationCarriesWeightsPerToken() {
        ClipTokenizer tok = ClipTokenizer.sd1();
        TokenChunks.Weighted w = tok.tokenizeWeighted("a (red:1.5) cat", 75);
        assertEquals(1, w.ids().length);
        assertArrayEquals(tok.tokenize77("a red cat"), w.ids()[0]);
        assertEquals(1f, w.weights()[0][0]);
        assertEquals(1f, w.weights()[0][1]);
        assertEquals(1.5f, w.weights()[0][2]);
        assertEquals(1f, w.weights()[0][3]);
        assertEquals(1f, w.weights()[0][4], "EOS");
        assertEquals(1f, w.weights()[0][76], "padding");

        StringBuilder prompt = new StringBuilder();
        for (int i = 0; i < 80; i++) {
            prompt.append(i == 77 ? "(dog:0.5) " : "cat ");
        }
        TokenChunks.Weighted longer = tok.tokenizeWeighted(prompt.toString(), 150);
        assertEquals(2, longer.ids().length);
        // token 77 sits at position 1 + (77 - 75) of the second chunk
        assertEquals(tok.encode("dog")[0], longer.ids()[1][3]);
        assertEquals(0.5f, longer.weights()[1][3]);
        assertEquals(1f, longer.weights()[1][2]);
        assertEquals(1f, longer.weights()[0][75]);
    }
}
