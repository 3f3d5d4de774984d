package dev.kiln.diffusion.sampling;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.tomlj.Toml;
import org.tomlj.TomlArray;
import org.tomlj.TomlParseResult;
import org.tomlj.TomlTable;
import org.slf4j.LoggerFactory;

/**
 * sd-scripts' sample prompt syntax ({@code train_util.py line_to_prompt_dict} and {@code load_prompts}):
 * {@code a cat --n low quality --w 768 --h 512 --d 1 --l 7.5 --s 28 --ss euler_a}.
 *
 * <p>The line is split on {@code " --"}; every piece, the prompt itself included (an sd-scripts quirk kept for
 * compatibility), is matched at its start, case-insensitively. Unknown options are ignored; a value that does
 * not parse is logged and ignored, as sd-scripts does.
 */
public final class SamplePrompts {

    private static final Logger LOG = LoggerFactory.getLogger(SamplePrompts.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int FLAGS = Pattern.CASE_INSENSITIVE | Pattern.UNICODE_CASE;

    private static final Pattern WIDTH = Pattern.compile("w (\\d+)", FLAGS);
    private static final Pattern HEIGHT = Pattern.compile("h (\\d+)", FLAGS);
    private static final Pattern SEED = Pattern.compile("d (\\d+)", FLAGS);
    private static final Pattern STEPS = Pattern.compile("s (\\d+)", FLAGS);
    private static final Pattern SCALE = Pattern.compile("l ([\\d.]+)", FLAGS);
    private static final Pattern NEGATIVE = Pattern.compile("n (.+)", FLAGS);
    private static final Pattern SAMPLER = Pattern.compile("ss (.+)", FLAGS);

    private SamplePrompts() {
    }

    /** Parses one prompt line. */
    public static SamplePrompt parseLine(String line) {
        String[] pieces = line.split(" --", -1);
        Builder b = new Builder(pieces[0]);
        for (String piece : pieces) {
            try {
                // first match wins, in sd-scripts' order; options of other architectures (g, cn, ctr, rcfg, fs)
                // match none of these and are ignored
                boolean matched = apply(WIDTH, piece, v -> b.width = Integer.parseInt(v))
                        || apply(HEIGHT, piece, v -> b.height = Integer.parseInt(v))
                        || apply(SEED, piece, v -> b.seed = Long.parseLong(v))
                        || apply(STEPS, piece, v -> b.steps = Math.max(1, Math.min(1000, parseClampedInt(v))))
                        || apply(SCALE, piece, v -> b.scale = Float.parseFloat(strictDecimal(v)))
                        || apply(NEGATIVE, piece, v -> b.negative = v)
                        || apply(SAMPLER, piece, v -> b.sampler = v);
                if (!matched) {
                    LOG.debug("ignoring sample prompt option '{}'", piece);
                }
            } catch (NumberFormatException e) {
                LOG.error("cannot parse sample prompt option '{}': {}", piece, e.getMessage());
            }
        }
        return b.build();
    }

    /**
     * Reads a prompt file: {@code .txt} (one prompt per line; blank lines and lines starting with {@code #}
     * skipped), {@code .json} (a list of prompt lines and/or objects with sd-scripts' keys) or {@code .toml}
     * (a {@code [prompt]} table of shared keys with one {@code [[prompt.subset]]} entry per image).
     */
    public static List<SamplePrompt> read(Path file) {
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read prompt file " + file, e);
        }
        if (name.endsWith(".txt")) {
            return parseLines(text);
        }
        try {
            if (name.endsWith(".json")) {
                return parseJson(JSON.readTree(text));
            }
            if (name.endsWith(".toml")) {
                return parseToml(text);
            }
        } catch (IOException | IllegalArgumentException e) {
            throw new IllegalArgumentException("prompt file " + file + ": " + e.getMessage(), e);
        }
        throw new IllegalArgumentException("prompt file " + file + " must end in .txt, .json or .toml");
    }

    /** The prompts of a {@code .txt} prompt file's content. */
    public static List<SamplePrompt> parseLines(String text) {
        List<SamplePrompt> prompts = new ArrayList<>();
        for (String line : text.split("\r?\n|\r")) {
            // sd-scripts tests the raw line's first character for '#', the stripped line for emptiness
            if (!line.isBlank() && !line.startsWith("#")) {
                prompts.add(parseLine(line.strip()));
            }
        }
        return prompts;
    }

    /** The prompts of a {@code .json} prompt file: an array of lines and/or objects. */
    public static List<SamplePrompt> parseJson(JsonNode json) {
        if (!json.isArray()) {
            throw new IllegalArgumentException("expected a JSON array of prompts");
        }
        List<SamplePrompt> prompts = new ArrayList<>();
        int index = 0;
        for (JsonNode entry : json) {
            if (entry.isTextual()) {
                prompts.add(parseLine(entry.asText()));
            } else if (entry.isObject()) {
                prompts.add(fromObject(entry, index));
            } else {
                throw new IllegalArgumentException("prompt " + index + " must be a string or an object");
            }
            index++;
        }
        return prompts;
    }

    /**
     * The prompts of a {@code .toml} prompt file: each {@code [[prompt.subset]]} entry over the shared keys of
     * {@code [prompt]} (sd-scripts fails on a key given in both; here the subset's value wins).
     */
    public static List<SamplePrompt> parseToml(String text) throws IOException {
        TomlParseResult toml = Toml.parse(text);
        if (toml.hasErrors()) {
            throw new IllegalArgumentException("invalid TOML: " + toml.errors().get(0));
        }
        TomlTable shared = toml.getTable("prompt");
        if (shared == null || !shared.isArray("subset")) {
            throw new IllegalArgumentException("expected a [prompt] table with [[prompt.subset]] entries");
        }
        ObjectNode base = (ObjectNode) JSON.readTree(shared.toJson());
        base.remove("subset");
        List<SamplePrompt> prompts = new ArrayList<>();
        TomlArray subsets = shared.getArrayOrEmpty("subset");
        for (int i = 0; i < subsets.size(); i++) {
            ObjectNode merged = base.deepCopy();
            merged.setAll((ObjectNode) JSON.readTree(subsets.getTable(i).toJson()));
            prompts.add(fromObject(merged, i));
        }
        return prompts;
    }

    private static SamplePrompt fromObject(JsonNode o, int index) {
        JsonNode prompt = o.path("prompt");
        if (!prompt.isTextual()) {
            throw new IllegalArgumentException("prompt " + index + ": field 'prompt' must be a string");
        }
        Builder b = new Builder(prompt.asText());
        b.negative = text(o, "negative_prompt", index);
        b.sampler = text(o, "sample_sampler", index);
        b.width = integer(o, "width", index, b.width);
        b.height = integer(o, "height", index, b.height);
        b.steps = integer(o, "sample_steps", index, b.steps);
        if (o.hasNonNull("seed")) {
            b.seed = (long) integer(o, "seed", index, 0);
        }
        if (o.hasNonNull("scale")) {
            if (!o.get("scale").isNumber()) {
                throw new IllegalArgumentException("prompt " + index + ": field 'scale' must be a number");
            }
            b.scale = o.get("scale").floatValue();
        }
        return b.build();
    }

    private static String text(JsonNode o, String field, int index) {
        JsonNode v = o.path(field);
        if (v.isMissingNode() || v.isNull()) {
            return null;
        }
        if (!v.isTextual()) {
            throw new IllegalArgumentException("prompt " + index + ": field '" + field + "' must be a string");
        }
        return v.asText();
    }

    private static int integer(JsonNode o, String field, int index, int fallback) {
        JsonNode v = o.path(field);
        if (v.isMissingNode() || v.isNull()) {
            return fallback;
        }
        if (!v.canConvertToInt()) {
            throw new IllegalArgumentException("prompt " + index + ": field '" + field + "' must be an integer");
        }
        return v.intValue();
    }

    private static boolean apply(Pattern pattern, String piece, Consumer<String> action) {
        Matcher m = pattern.matcher(piece);
        if (!m.lookingAt()) {
            return false;
        }
        action.accept(m.group(m.groupCount()));
        return true;
    }

    /** Steps are clamped to 1..1000 anyway, so digit strings too long for an int clamp to the top. */
    private static int parseClampedInt(String digits) {
        return digits.length() > 9 ? Integer.MAX_VALUE : Integer.parseInt(digits);
    }

    /** Python's float() rejects "1.2.3" and "." where Java would too; keep the error message about the value. */
    private static String strictDecimal(String value) {
        if (!value.matches("\\d+\\.?\\d*|\\.\\d+")) {
            throw new NumberFormatException("not a number: " + value);
        }
        return value;
    }

    private static final class Builder {
        private final String prompt;
        private String negative;
        private int width = SamplePrompt.DEFAULT_SIZE;
        private int height = SamplePrompt.DEFAULT_SIZE;
        private Long seed;
        private int steps = SamplePrompt.DEFAULT_STEPS;
        private float scale = SamplePrompt.DEFAULT_SCALE;
        private String sampler;

        Builder(String prompt) {
            this.prompt = prompt;
        }

        SamplePrompt build() {
            return new SamplePrompt(prompt, negative, width, height, seed, steps, scale, sampler);
        }
    }
}
