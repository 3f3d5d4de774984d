package dev.kiln.model.job;

import dev.kiln.model.dataset.ConfigException;
import dev.kiln.model.dataset.ValueType;
import dev.kiln.model.keys.ObjectKeys;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import org.tomlj.TomlTable;

/**
 * A job's {@code [captioning]} table: tag the job's images that have no caption file with a WD14-style ONNX
 * tagger. Keys are the options of sd-scripts' {@code finetune/tag_images_by_wd14_tagger.py}, with its defaults,
 * except that the model and tags file are object keys:
 *
 * <pre>
 * [captioning]
 * caption_model = "models/wd-tagger.onnx"        # required: the .onnx object key
 * tags_csv = "models/selected_tags.csv"          # default: selected_tags.csv beside the model
 * thresh = 0.35                                  # general_threshold and character_threshold default to it
 * general_threshold = 0.35
 * character_threshold = 0.35                     # above 1 turns a category off, as in sd-scripts
 * undesired_tags = "lowres, watermark"           # or a list of strings
 * always_first_tags = "1girl, 1boy"              # or a list of strings
 * tag_replacement = "source1,target1;source2,target2"   # \, and \; escape a comma or semicolon
 * caption_separator = ", "
 * remove_underscore = false
 * character_tag_expand = false
 * character_tags_first = false
 * use_rating_tags = false
 * use_rating_tags_as_last_tag = false
 * batch_size = 8                                 # default: the captioning service's kiln.captioning.batch-size
 * </pre>
 *
 * @param batchSize images per inference, or null for the service's default
 */
public record CaptioningSettings(String captionModel, String tagsCsv, double thresh, double generalThreshold,
        double characterThreshold, List<String> undesiredTags, List<String> alwaysFirstTags,
        Map<String, String> tagReplacements, String captionSeparator, boolean removeUnderscore,
        boolean characterTagExpand, boolean characterTagsFirst, boolean useRatingTags, boolean useRatingTagsAsLastTag,
        Integer batchSize) {

    /** The table's name in job.toml. */
    public static final String TABLE = "captioning";
    /** The tags file sd-scripts expects beside a WD14 model. */
    public static final String DEFAULT_TAGS_CSV = "selected_tags.csv";
    /** sd-scripts' {@code --thresh} default. */
    public static final double DEFAULT_THRESHOLD = 0.35;
    /** sd-scripts' {@code --caption_separator} default. */
    public static final String DEFAULT_SEPARATOR = ", ";
    /** Larger batches only cost memory (a 448² batch of 256 is 600 MB of input alone). */
    public static final int MAX_BATCH_SIZE = 256;

    private static final Set<String> KEYS = Set.of("caption_model", "tags_csv", "thresh", "general_threshold",
            "character_threshold", "undesired_tags", "always_first_tags", "tag_replacement", "caption_separator",
            "remove_underscore", "character_tag_expand", "character_tags_first", "use_rating_tags",
            "use_rating_tags_as_last_tag", "batch_size");

    /** Validates every value; errors name the key ({@code [captioning] general_threshold: ...}). */
    public CaptioningSettings {
        captionModel = modelKey("caption_model", captionModel, ".onnx");
        tagsCsv = tagsCsv == null ? besideModel(captionModel) : modelKey("tags_csv", tagsCsv, ".csv");
        threshold("thresh", thresh);
        threshold("general_threshold", generalThreshold);
        threshold("character_threshold", characterThreshold);
        if (captionSeparator == null || captionSeparator.isEmpty()) {
            throw new ConfigException(TABLE, "caption_separator", "must not be empty");
        }
        if (batchSize != null) {
            checkBatchSize(batchSize);
        }
        undesiredTags = List.copyOf(undesiredTags);
        alwaysFirstTags = List.copyOf(alwaysFirstTags);
        tagReplacements = Collections.unmodifiableMap(new LinkedHashMap<>(tagReplacements));
    }

    /** sd-scripts' defaults for {@code caption_model}; the batch size is left to the service. */
    public static CaptioningSettings defaults(String captionModel) {
        return new CaptioningSettings(captionModel, null, DEFAULT_THRESHOLD, DEFAULT_THRESHOLD, DEFAULT_THRESHOLD,
                List.of(), List.of(), Map.of(), DEFAULT_SEPARATOR, false, false, false, false, false, null);
    }

    /**
     * Reads the {@code [captioning]} table (a TOML table); unknown keys and wrong types are
     * {@link ConfigException}s naming the key.
     */
    public static CaptioningSettings parse(Object raw) {
        if (!(raw instanceof TomlTable table)) {
            ValueType.TABLE.convert(raw, "", TABLE); // throws, describing what was given
            throw new AssertionError("not a table: " + raw);
        }
        Map<String, Object> values = new LinkedHashMap<>();
        for (String key : table.keySet()) {
            if (!KEYS.contains(key)) {
                throw new ConfigException(TABLE, key, "unknown key; [captioning] takes " + KEYS.stream().sorted().toList());
            }
            values.put(key, table.get(List.of(key)));
        }
        if (!values.containsKey("caption_model")) {
            throw new ConfigException(TABLE, "caption_model", "required: the object key of the tagger's .onnx model");
        }
        String separator = string(values, "caption_separator", DEFAULT_SEPARATOR);
        double thresh = number(values, "thresh", DEFAULT_THRESHOLD);
        Integer batchSize = null;
        if (values.containsKey("batch_size")) {
            Object b = values.get("batch_size");
            if (b instanceof Boolean) { // the dataset schema's Python quirk (bool is an int) is not extended here
                throw new ConfigException(TABLE, "batch_size", "expected int, got bool " + b);
            }
            batchSize = (int) checkBatchSize((Long) ValueType.INT.convert(b, TABLE, "batch_size"));
        }
        Map<String, String> replacements;
        try {
            replacements = tagReplacements(string(values, "tag_replacement", null));
        } catch (IllegalArgumentException e) {
            throw new ConfigException(TABLE, "tag_replacement", e.getMessage());
        }
        return new CaptioningSettings(string(values, "caption_model", null), string(values, "tags_csv", null), thresh,
                number(values, "general_threshold", thresh), number(values, "character_threshold", thresh),
                tags(values, "undesired_tags", separator), tags(values, "always_first_tags", separator), replacements,
                separator, flag(values, "remove_underscore"), flag(values, "character_tag_expand"),
                flag(values, "character_tags_first"), flag(values, "use_rating_tags"),
                flag(values, "use_rating_tags_as_last_tag"), batchSize);
    }

    /** The settings under their job.toml names (the {@code captioning} entry of {@code kiln.jobs.submitted}'s spec). */
    public Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("caption_model", captionModel);
        m.put("tags_csv", tagsCsv);
        m.put("thresh", thresh);
        m.put("general_threshold", generalThreshold);
        m.put("character_threshold", characterThreshold);
        m.put("undesired_tags", undesiredTags);
        m.put("always_first_tags", alwaysFirstTags);
        m.put("tag_replacement", tagReplacements);
        m.put("caption_separator", captionSeparator);
        m.put("remove_underscore", removeUnderscore);
        m.put("character_tag_expand", characterTagExpand);
        m.put("character_tags_first", characterTagsFirst);
        m.put("use_rating_tags", useRatingTags);
        m.put("use_rating_tags_as_last_tag", useRatingTagsAsLastTag);
        m.put("batch_size", batchSize);
        return m;
    }

    /**
     * A tag list given as one string, as {@code --undesired_tags} and {@code --always_first_tags} take it:
     * split on the caption separator without its surrounding spaces, each tag trimmed, empty ones dropped.
     * (sd-scripts trims only the undesired tags; trimming both lets {@code "1girl, 1boy"} work as written.)
     *
     * @throws IllegalArgumentException when the separator is only spaces
     */
    public static List<String> tagList(String text, String captionSeparator) {
        if (text == null || text.isBlank()) {
            return List.of();
        }
        String separator = captionSeparator.strip();
        if (separator.isEmpty()) {
            throw new IllegalArgumentException("caption_separator '" + captionSeparator
                    + "' is only spaces: cannot split a tag list on it");
        }
        List<String> tags = new ArrayList<>();
        for (String part : text.split(Pattern.quote(separator), -1)) {
            if (!part.strip().isEmpty()) {
                tags.add(part.strip());
            }
        }
        return tags;
    }

    /**
     * {@code --tag_replacement} syntax: {@code source1,target1;source2,target2}, with {@code \,} and {@code \;}
     * escaping a comma or semicolon inside a tag.
     *
     * @throws IllegalArgumentException naming the pair that is not {@code source,target}
     */
    public static Map<String, String> tagReplacements(String spec) {
        Map<String, String> replacements = new LinkedHashMap<>();
        if (spec == null || spec.isEmpty()) {
            return replacements;
        }
        // placeholders for escaped separators; sd-scripts uses the same trick
        String escaped = spec.replace("\\,", "\u0000").replace("\\;", "\u0001");
        for (String pair : escaped.split(";", -1)) {
            String[] parts = pair.split(",", -1);
            if (parts.length != 2) {
                throw new IllegalArgumentException("'" + unescape(pair) + "' is not in the form source,target (in '"
                        + spec + "')");
            }
            replacements.put(unescape(parts[0]), unescape(parts[1]));
        }
        return replacements;
    }

    private static String unescape(String s) {
        return s.replace('\u0000', ',').replace('\u0001', ';');
    }

    private static String modelKey(String key, String value, String extension) {
        if (value == null || value.isBlank()) {
            throw new ConfigException(TABLE, key, "required: an object key such as models/wd-tagger" + extension);
        }
        String problem = ObjectKeys.problem(value);
        if (problem != null) {
            throw new ConfigException(TABLE, key, "'" + value + "' is not a usable object key: " + problem);
        }
        if (value.endsWith("/") || !value.toLowerCase(java.util.Locale.ROOT).endsWith(extension)) {
            throw new ConfigException(TABLE, key, "expected the object key of a " + extension + " file, got '"
                    + value + "'");
        }
        return value;
    }

    private static long checkBatchSize(long value) {
        if (value < 1 || value > MAX_BATCH_SIZE) {
            throw new ConfigException(TABLE, "batch_size", "must be between 1 and " + MAX_BATCH_SIZE + ", got " + value);
        }
        return value;
    }

    private static String besideModel(String modelKey) {
        int slash = modelKey.lastIndexOf('/');
        return (slash < 0 ? "" : modelKey.substring(0, slash + 1)) + DEFAULT_TAGS_CSV;
    }

    private static void threshold(String key, double value) {
        if (!(value >= 0) || Double.isInfinite(value)) {
            throw new ConfigException(TABLE, key, "must be a number of at least 0 (above 1 turns the category off), got "
                    + value);
        }
    }

    private static String string(Map<String, Object> values, String key, String otherwise) {
        return values.containsKey(key) ? (String) ValueType.STRING.convert(values.get(key), TABLE, key) : otherwise;
    }

    private static double number(Map<String, Object> values, String key, double otherwise) {
        if (!values.containsKey(key)) {
            return otherwise;
        }
        Object v = values.get(key);
        if (v instanceof Boolean) {
            throw new ConfigException(TABLE, key, "expected float, got bool " + v);
        }
        return (Double) ValueType.ARG_FLOAT.convert(v, TABLE, key);
    }

    private static boolean flag(Map<String, Object> values, String key) {
        return values.containsKey(key) && (Boolean) ValueType.BOOL.convert(values.get(key), TABLE, key);
    }

    /** A string in sd-scripts' form, or a TOML list of tags. */
    @SuppressWarnings("unchecked")
    private static List<String> tags(Map<String, Object> values, String key, String separator) {
        Object v = values.get(key);
        if (v == null) {
            return List.of();
        }
        if (v instanceof String s) {
            try {
                return tagList(s, separator);
            } catch (IllegalArgumentException e) {
                throw new ConfigException(TABLE, key, e.getMessage());
            }
        }
        List<String> out = new ArrayList<>();
        for (String tag : (List<String>) ValueType.STRING_LIST.convert(v, TABLE, key)) {
            if (!tag.strip().isEmpty()) {
                out.add(tag.strip());
            }
        }
        return out;
    }
}
