package dev.kiln.model.keys;

import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * The object layout of ARCHITECTURE §2: key validation, parsing and builders.
 *
 * <p>Keys are data, not paths: {@link #problem(String)} rejects anything that could escape a directory
 * when a key is mapped to a local file, or that is not a well-formed S3 key.
 */
public final class ObjectKeys {

    /** S3's key length limit, in UTF-8 bytes. */
    public static final int MAX_KEY_BYTES = 1024;

    public static final String DATASETS = "datasets/";
    public static final String JOBS = "jobs/";
    public static final String MODELS = "models/";
    public static final String LATENT_CACHE = "cache/latents/";
    public static final String OUTPUTS = "outputs/";

    private static final Pattern HEX = Pattern.compile("[0-9a-f]+");
    private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");

    private ObjectKeys() {
    }

    /**
     * Why {@code key} is unsafe, or null when it is safe. Rejected: null or empty, over
     * {@value #MAX_KEY_BYTES} UTF-8 bytes, lone surrogates (not encodable as UTF-8), control characters
     * (C0, DEL, C1), backslashes, a leading {@code /}, empty segments ({@code a//b}) and {@code .} or
     * {@code ..} segments. A single trailing {@code /} (a folder marker object) is allowed.
     */
    public static String problem(String key) {
        if (key == null || key.isEmpty()) {
            return "key is empty";
        }
        for (int i = 0; i < key.length(); i++) {
            char c = key.charAt(i);
            if (Character.isSurrogate(c)) {
                boolean paired = Character.isHighSurrogate(c) && i + 1 < key.length()
                        && Character.isLowSurrogate(key.charAt(i + 1));
                if (!paired) {
                    return String.format("lone surrogate U+%04X at index %d: not valid UTF-8", (int) c, i);
                }
                i++;
            } else if (Character.isISOControl(c)) {
                return String.format("control character U+%04X at index %d", (int) c, i);
            } else if (c == '\\') {
                return "backslash at index " + i + " (use '/' to separate folders)";
            }
        }
        int bytes = key.getBytes(StandardCharsets.UTF_8).length;
        if (bytes > MAX_KEY_BYTES) {
            return "key is " + bytes + " UTF-8 bytes, over the " + MAX_KEY_BYTES + "-byte limit";
        }
        if (key.startsWith("/")) {
            return "key starts with '/'";
        }
        String body = key.endsWith("/") ? key.substring(0, key.length() - 1) : key;
        String[] segments = body.split("/", -1);
        for (int i = 0; i < segments.length; i++) {
            String s = segments[i];
            if (s.isEmpty()) {
                return "empty path segment at position " + (i + 1) + " ('//')";
            }
            if (s.equals("..")) {
                return "'..' segment at position " + (i + 1);
            }
            if (s.equals(".")) {
                return "'.' segment at position " + (i + 1);
            }
        }
        return null;
    }

    /** True when {@link #problem(String)} finds nothing. */
    public static boolean isSafe(String key) {
        return problem(key) == null;
    }

    /**
     * Returns {@code key} if it is safe.
     *
     * @throws UnsafeKeyException naming the key and the reason otherwise
     */
    public static String requireSafe(String key) {
        String problem = problem(key);
        if (problem != null) {
            throw new UnsafeKeyException(key, problem);
        }
        return key;
    }

    /** Parses a decoded key with the default caption extensions ({@code .txt}, {@code .caption}). */
    public static ParsedKey parse(String key) {
        return KeyLayout.DEFAULT.parse(key);
    }

    /** {@code datasets/<dataset>/}. */
    public static String datasetPrefix(String dataset) {
        return DATASETS + segment("dataset", dataset) + "/";
    }

    /** {@code datasets/<dataset>/metadata.json}. */
    public static String datasetMetadata(String dataset) {
        return datasetPrefix(dataset) + "metadata.json";
    }

    /** {@code jobs/<job>/job.toml}. */
    public static String jobSpec(String job) {
        return JOBS + segment("job", job) + "/job.toml";
    }

    /**
     * {@code cache/latents/<vae-sha>/<image-sha256>_<W>x<H>[_flip].safetensors}, W and H the bucket size
     * in pixels.
     */
    public static String latentCache(String vaeSha, String imageSha256, int width, int height, boolean flip) {
        if (vaeSha == null || !HEX.matcher(vaeSha).matches()) {
            throw new IllegalArgumentException("vaeSha must be lower-case hex: " + vaeSha);
        }
        if (imageSha256 == null || !SHA256.matcher(imageSha256).matches()) {
            throw new IllegalArgumentException("imageSha256 must be 64 lower-case hex digits: " + imageSha256);
        }
        if (width <= 0 || height <= 0) {
            throw new IllegalArgumentException("latent bucket size must be positive: " + width + "x" + height);
        }
        return LATENT_CACHE + vaeSha + "/" + imageSha256 + "_" + width + "x" + height + (flip ? "_flip" : "")
                + ".safetensors";
    }

    /** {@code outputs/<job>/}. */
    public static String outputPrefix(String job) {
        return OUTPUTS + segment("job", job) + "/";
    }

    /** The final model: {@code outputs/<job>/<output_name>.safetensors} (sd-scripts' last-model name). */
    public static String finalModel(String job, String outputName) {
        return outputPrefix(job) + segment("output_name", outputName) + ".safetensors";
    }

    /** A step checkpoint: {@code outputs/<job>/<output_name>-step00000500.safetensors} (sd-scripts {@code step:08d}). */
    public static String stepModel(String job, String outputName, long step) {
        requireNonNegative("step", step);
        return outputPrefix(job) + segment("output_name", outputName) + String.format(Locale.ROOT, "-step%08d", step)
                + ".safetensors";
    }

    /** An epoch checkpoint: {@code outputs/<job>/<output_name>-000003.safetensors} (sd-scripts {@code epoch:06d}). */
    public static String epochModel(String job, String outputName, long epoch) {
        requireNonNegative("epoch", epoch);
        return outputPrefix(job) + segment("output_name", outputName) + String.format(Locale.ROOT, "-%06d", epoch)
                + ".safetensors";
    }

    /** {@code outputs/<job>/state/}: resumable training state. */
    public static String statePrefix(String job) {
        return outputPrefix(job) + "state/";
    }

    /** {@code outputs/<job>/state/<relative>}, the relative part validated like any key. */
    public static String stateKey(String job, String relative) {
        return requireSafe(statePrefix(job) + relative);
    }

    /**
     * {@code outputs/<job>/state/samples/step-<N>.safetensors}: the network as trained at step N, which a
     * {@code kiln.samples.requested} event asks the sampler to render from.
     */
    public static String sampleNetwork(String job, long step) {
        return stateKey(job, "samples/step-" + step + ".safetensors");
    }

    /** When a sample was made: at an epoch end ({@code e}) or at a step ({@code s}). */
    public enum SampleAt {
        EPOCH('e'), STEP('s');

        private final char letter;

        SampleAt(char letter) {
            this.letter = letter;
        }
    }

    /**
     * {@code outputs/<job>/samples/<name>_<e|s><count>_<idx>.png}, count as sd-scripts' {@code %06d} and
     * the prompt index as {@code %02d}: {@code mylora_e000003_00.png}, {@code mylora_s000500_03.png}.
     * Unlike sd-scripts, no timestamp: the key of a sample is deterministic, so a redelivered request
     * overwrites rather than duplicates.
     */
    public static String sample(String job, String name, SampleAt at, long count, int promptIndex) {
        requireNonNegative("count", count);
        requireNonNegative("promptIndex", promptIndex);
        return outputPrefix(job) + "samples/" + segment("name", name)
                + String.format(Locale.ROOT, "_%c%06d_%02d.png", at.letter, count, promptIndex);
    }

    /** {@code outputs/<job>/plan.json}. */
    public static String plan(String job) {
        return outputPrefix(job) + "plan.json";
    }

    /** {@code outputs/<job>/events.jsonl}: the job's full event log. */
    public static String eventLog(String job) {
        return outputPrefix(job) + "events.jsonl";
    }

    /** {@code s3://<bucket>/<key>}, the form of {@code artifact} in progress events. */
    public static String s3Uri(String bucket, String key) {
        if (bucket == null || bucket.isEmpty() || bucket.contains("/")) {
            throw new IllegalArgumentException("invalid bucket name: " + bucket);
        }
        return "s3://" + bucket + "/" + requireSafe(key);
    }

    /** One path segment of a built key (a dataset, job or output name): no '/', not hidden, safe. */
    static String segment(String field, String value) {
        if (value == null || value.isEmpty()) {
            throw new IllegalArgumentException(field + " must not be empty");
        }
        if (value.contains("/")) {
            throw new IllegalArgumentException(field + " '" + value + "' must not contain '/'");
        }
        if (value.startsWith(".")) {
            throw new IllegalArgumentException(field + " '" + value + "' must not start with '.'");
        }
        String problem = problem(value);
        if (problem != null) {
            throw new IllegalArgumentException(field + " '" + UnsafeKeyException.printable(value) + "': " + problem);
        }
        return value;
    }

    private static void requireNonNegative(String field, long value) {
        if (value < 0) {
            throw new IllegalArgumentException(field + " must be >= 0, got " + value);
        }
    }
}
