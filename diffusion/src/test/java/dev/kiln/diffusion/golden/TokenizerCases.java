package dev.kiln.diffusion.golden;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.diffusion.tokenizer.ClipTextCleaner;
import dev.kiln.diffusion.tokenizer.ClipTokenizer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

/**
 * Checks the CLIP tokenizer against every {@code tokenizer/cases.json} under the golden root: normalized text, raw
 * ids and tokens, and the SD1 (pad EOS) and SD2 (pad 0) 77-id layouts.
 */
public final class TokenizerCases {

    /** One case's outcome; {@code problem} is null when it passed. */
    public record Result(String caseId, String problem) {
        public boolean passed() {
            return problem == null;
        }
    }

    private TokenizerCases() {
    }

    /** Every {@code cases.json} under the golden root (the tokenizer folder beside the model configs). */
    public static List<Path> caseFiles() {
        try (Stream<Path> files = Files.walk(GoldenData.root(), 3)) {
            return files.filter(p -> p.getFileName().toString().equals("cases.json")).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Checks every case of one file with the vocabulary beside it. */
    public static List<Result> check(Path casesJson) {
        Path folder = casesJson.getParent();
        JsonNode root = GoldenData.readJson(casesJson);
        ClipTokenizer sd1 = ClipTokenizer.fromFiles(folder.resolve("vocab.json"), folder.resolve("merges.txt"),
                root.path("sd1_pad_id").asInt());
        ClipTokenizer sd2 = sd1.withPadId(root.path("sd2_pad_id").asInt());
        List<Result> results = new ArrayList<>();
        for (JsonNode c : root.path("cases")) {
            results.add(new Result(c.path("id").asText(), problem(c, sd1, sd2)));
        }
        return results;
    }

    private static String problem(JsonNode c, ClipTokenizer sd1, ClipTokenizer sd2) {
        try {
            String text = c.path("text").asText();
            String normalized = ClipTextCleaner.normalize(text);
            if (!normalized.equals(c.path("normalized").asText())) {
                return "normalized \"" + normalized + "\" != \"" + c.path("normalized").asText() + "\"";
            }
            int[] ids = sd1.encode(text);
            long[] expectedIds = longs(c.path("ids"));
            if (!Arrays.equals(Arrays.stream(ids).asLongStream().toArray(), expectedIds)) {
                return "ids " + Arrays.toString(ids) + " != " + Arrays.toString(expectedIds);
            }
            for (int i = 0; i < ids.length; i++) {
                if (!sd1.token(ids[i]).equals(c.path("tokens").get(i).asText())) {
                    return "token " + i + " \"" + sd1.token(ids[i]) + "\" != \"" + c.path("tokens").get(i).asText() + "\"";
                }
            }
            if (!Arrays.equals(sd1.tokenize77(text), longs(c.path("sd1")))) {
                return "sd1 layout " + Arrays.toString(sd1.tokenize77(text));
            }
            if (!Arrays.equals(sd2.tokenize77(text), longs(c.path("sd2")))) {
                return "sd2 layout " + Arrays.toString(sd2.tokenize77(text));
            }
            // transformers' SD2 tokenizer (pad "!" special) differs only where the case records it
            JsonNode transformers = c.has("sd2_transformers") ? c.path("sd2_transformers") : c.path("sd2");
            long[] sd2Special = sd2.withPadTokenAsSpecial().tokenize77(text);
            if (!Arrays.equals(sd2Special, longs(transformers))) {
                return "sd2 layout with pad token as special " + Arrays.toString(sd2Special);
            }
            return null;
        } catch (RuntimeException e) {
            return e.toString();
        }
    }

    private static long[] longs(JsonNode array) {
        long[] out = new long[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asLong();
        }
        return out;
    }
}
