package dev.kiln.diffusion.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Tokenizers for the tiny test models, whose text encoders have a 1000-id vocabulary: "!" = 0, "," = 1, the
 * single letters a-z = 10..35 (as whole words), BOS 998, EOS 999 (also the padding). {@link #writeSpelling} adds
 * the letters and digits inside words, so any lowercase English text encodes (spelled letter by letter).
 */
public final class LetterTokenizer {

    private LetterTokenizer() {
    }

    /** Writes {@code tokenizer.json} (single-letter words only) into {@code dir} and returns {@code dir}. */
    public static Path write(Path dir) {
        return write(dir, false);
    }

    /**
     * Writes a {@code tokenizer.json} that also spells words: letters inside a word 36..61, digits 62..71 (inside)
     * and 72..81 (word-final), "." 2, "-" 3, "'" 4. Returns {@code dir}.
     */
    public static Path writeSpelling(Path dir) {
        return write(dir, true);
    }

    private static Path write(Path dir, boolean spelling) {
        StringBuilder vocab = new StringBuilder("\"!\":0,\",</w>\":1");
        for (char c = 'a'; c <= 'z'; c++) {
            vocab.append(",\"").append(c).append("</w>\":").append(10 + c - 'a');
        }
        if (spelling) {
            vocab.append(",\".</w>\":2,\"-</w>\":3,\"'</w>\":4");
            for (char c = 'a'; c <= 'z'; c++) {
                vocab.append(",\"").append(c).append("\":").append(36 + c - 'a');
            }
            for (char c = '0'; c <= '9'; c++) {
                vocab.append(",\"").append(c).append("\":").append(62 + c - '0');
                vocab.append(",\"").append(c).append("</w>\":").append(72 + c - '0');
            }
        }
        try {
            Files.createDirectories(dir);
            Files.writeString(dir.resolve("tokenizer.json"), "{\"model\":{\"type\":\"BPE\",\"vocab\":{" + vocab
                    + "},\"merges\":[]},\"added_tokens\":[{\"id\":998,\"content\":\"<|startoftext|>\"},"
                    + "{\"id\":999,\"content\":\"<|endoftext|>\"}]}");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write a tokenizer to " + dir, e);
        }
        return dir;
    }
}
