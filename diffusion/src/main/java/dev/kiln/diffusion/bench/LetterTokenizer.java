package dev.kiln.diffusion.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A tokenizer for the tiny test models, whose text encoders have a 1000-id vocabulary: "!" = 0, "," = 1, the
 * single letters a-z = 10..35 (as whole words), BOS 998, EOS 999 (also the padding).
 */
public final class LetterTokenizer {

    private LetterTokenizer() {
    }

    /** Writes {@code tokenizer.json} into {@code dir} and returns {@code dir}. */
    public static Path write(Path dir) {
        StringBuilder vocab = new StringBuilder("\"!\":0,\",</w>\":1");
        for (char c = 'a'; c <= 'z'; c++) {
            vocab.append(",\"").append(c).append("</w>\":").append(10 + c - 'a');
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
