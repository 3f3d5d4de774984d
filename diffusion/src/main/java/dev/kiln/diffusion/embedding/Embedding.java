package dev.kiln.diffusion.embedding;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.kiln.diffusion.lora.SavePrecision;
import dev.kiln.diffusion.safetensors.SafeTensors;
import dev.kiln.diffusion.safetensors.SafeTensorsWriter;
import dev.kiln.diffusion.safetensors.TensorInfo;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A Textual Inversion embedding for SD 1.x / 2.x: {@code n} vectors of the text encoder's width, used through the
 * tokens {@code token, token1, ..., token{n-1}} (sd-scripts' {@code train_textual_inversion.py} adds them this way),
 * and written to a prompt as {@code token} alone: every occurrence becomes the whole sequence.
 *
 * @param token   the token string (for a loaded file its name without extension, as sd-scripts' generation scripts do)
 * @param vectors {@code [n, dim]} float32
 */
public record Embedding(String token, NDArray vectors) {

    /** sd-scripts' tensor name in SD 1.x / 2.x embedding files. */
    public static final String KEY = "emb_params";

    public Embedding {
        if (token == null || token.isBlank() || token.chars().anyMatch(Character::isWhitespace)) {
            throw new IllegalArgumentException("embedding token '" + token + "' must be one word");
        }
        if (vectors.getShape().dimension() != 2) {
            throw new IllegalArgumentException("embedding '" + token + "' must be [vectors, dim], got "
                    + vectors.getShape());
        }
    }

    /** The number of vectors (tokens) this embedding occupies in a prompt. */
    public int size() {
        return Math.toIntExact(vectors.getShape().get(0));
    }

    public long dim() {
        return vectors.getShape().get(1);
    }

    /** {@code token, token1, ..., token{n-1}}. */
    public List<String> tokens() {
        return tokens(token, size());
    }

    /** sd-scripts' token strings for {@code count} vectors. */
    public static List<String> tokens(String token, int count) {
        List<String> out = new ArrayList<>();
        out.add(token);
        for (int i = 1; i < count; i++) {
            out.add(token + i);
        }
        return out;
    }

    /** What {@code token} stands for in a caption or prompt: the tokens joined by spaces. */
    public String replacement() {
        return String.join(" ", tokens());
    }

    /**
     * Reads an embedding file: sd-scripts' {@code emb_params}, or the file's only tensor (other SD 1.x/2.x tools);
     * a 1-D tensor is one vector. The token is the file name without its extension.
     *
     * @throws IllegalArgumentException naming the file when it is not a safetensors embedding
     */
    public static Embedding load(Path file, NDManager manager) {
        String name = file.getFileName().toString();
        if (!name.endsWith(".safetensors")) {
            throw new IllegalArgumentException(file + ": only .safetensors embeddings are read (pickled .pt/.bin files"
                    + " can run code)");
        }
        String token = name.substring(0, name.length() - ".safetensors".length());
        try (SafeTensors st = SafeTensors.open(file)) {
            String key = st.names().contains(KEY) ? KEY : st.names().size() == 1 ? st.names().iterator().next() : null;
            if (key == null) {
                throw new IllegalArgumentException(file + ": no '" + KEY + "' tensor (SDXL embeddings with clip_l/clip_g"
                        + " are not supported); keys " + st.names());
            }
            TensorInfo info = st.info(key);
            if (!info.dtype().isFloatingPoint() || info.shape().length < 1 || info.shape().length > 2) {
                throw new IllegalArgumentException(file + ": '" + key + "' must be a float [vectors, dim] tensor, is "
                        + info.dtype() + " " + java.util.Arrays.toString(info.shape()));
            }
            NDArray vectors = st.load(key, manager);
            if (info.shape().length == 1) {
                vectors = vectors.reshape(1, info.shape()[0]);
            }
            return new Embedding(token, vectors.duplicate());
        }
    }

    /** Writes {@code vectors} as sd-scripts does: {@code {"emb_params": [n, dim]}} in {@code precision}. */
    public static Path save(Path file, NDArray vectors, SavePrecision precision, Map<String, String> metadata) {
        return new SafeTensorsWriter().metadata(metadata).add(KEY, vectors, precision.dtype()).write(file);
    }
}
