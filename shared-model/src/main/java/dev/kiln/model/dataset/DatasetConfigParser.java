package dev.kiln.model.dataset;

import dev.kiln.model.dataset.DatasetKey.Level;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Collectors;
import org.tomlj.Toml;
import org.tomlj.TomlArray;
import org.tomlj.TomlParseError;
import org.tomlj.TomlParseResult;
import org.tomlj.TomlTable;

/**
 * Validates and resolves sd-scripts dataset configs ({@code [general]}, {@code [[datasets]]},
 * {@code [[datasets.subsets]]}) as library/config_util.py does: ConfigSanitizer's key sets and types,
 * validate_flex_dataset's choice between DreamBooth and fine-tuning, BlueprintGenerator's fallbacks, and the
 * checks the dataset classes make when they are built (train_util.py BaseDataset / DreamBoothDataset).
 * Every problem is a {@link ConfigException} naming the table and key.
 */
public final class DatasetConfigParser {
    /** Upper bound for a config file; configs are user input. */
    public static final int MAX_TOML_CHARS = 1 << 20;

    /** sd-scripts' valid resize_interpolation names (library/utils.py validate_interpolation_fn). */
    public static final Set<String> INTERPOLATIONS =
            Set.of("lanczos", "nearest", "bilinear", "linear", "bicubic", "cubic", "area", "box");

    /**
     * Trainer-dependent rules (the ConfigSanitizer flags each trainer passes).
     *
     * @param supportDreamBooth false for fine_tune.py (folder subsets and their keys are refused)
     * @param supportFinetuning false for train_db.py (metadata_file subsets are refused)
     * @param supportDropout false for textual inversion, whose trainer has no caption dropout keys
     * @param bucketResoStepsMultiple 64 for SD1/SD2 trainers, 32 for SDXL (verify_bucket_reso_steps)
     */
    public record Options(boolean supportDreamBooth, boolean supportFinetuning, boolean supportDropout,
            int bucketResoStepsMultiple) {
        /** train_network.py for SD1.x / SD2.x. */
        public static final Options SD = new Options(true, true, true, 64);
    }

    private DatasetConfigParser() {}

    /** Parses TOML text; a syntax error names the file and line. */
    public static TomlParseResult parseToml(String text, String fileName) {
        if (text.length() > MAX_TOML_CHARS) {
            throw new ConfigException(fileName, null, "file is larger than " + MAX_TOML_CHARS + " characters");
        }
        TomlParseResult result = Toml.parse(text);
        if (result.hasErrors()) {
            TomlParseError e = result.errors().get(0);
            throw new ConfigException(fileName, null, "invalid TOML at line " + e.position().line()
                    + ", column " + e.position().column() + ": " + e.getMessage());
        }
        return result;
    }

    /**
     * Reads a stand-alone dataset config file (sd-scripts' {@code --dataset_config}): only {@code general} and
     * {@code datasets} may appear at the top level.
     */
    public static DatasetConfig parseDatasetConfig(String tomlText, String fileName, Map<String, Object> arguments,
            Options options) {
        TomlParseResult toml = parseToml(tomlText, fileName);
        for (String key : toml.keySet()) {
            if (!key.equals("general") && !key.equals("datasets")) {
                throw new ConfigException(fileName, key,
                        "unknown top-level key; a dataset config holds only [general] and [[datasets]]");
            }
        }
        return fromTables(toml, arguments, options);
    }

    /**
     * The dataset part of a TOML document whose {@code general} and {@code datasets} entries are the dataset
     * config (other top-level keys are the caller's). Without a {@code datasets} entry the result is
     * a legacy config that reads {@code train_data_dir}/{@code reg_data_dir} from {@code arguments}.
     */
    public static DatasetConfig fromTables(TomlTable document, Map<String, Object> arguments, Options options) {
        Map<String, Object> general = Map.of();
        if (document.contains("general")) {
            general = rawTable(document.get("general"), "", "general");
        }
        Map<String, Object> args = Map.copyOf(nonNull(arguments));
        validateTable(general, "general", Level.GENERAL, null, options);
        if (!document.contains("datasets")) {
            return DatasetConfig.legacy(general, args, options);
        }
        Object datasets = document.get("datasets");
        if (!(datasets instanceof TomlArray array)) {
            throw new ConfigException("", "datasets", "expected an array of tables [[datasets]], got "
                    + ValueType.describe(datasets));
        }
        List<Map<String, Object>> datasetTables = new ArrayList<>();
        for (int i = 0; i < array.size(); i++) {
            datasetTables.add(rawTable(array.get(i), "", "datasets[" + i + "]"));
        }
        return DatasetConfig.explicit(resolve(general, datasetTables, args, options));
    }

    /**
     * Validates and resolves datasets given as raw tables (tomlj value types: Long, Double, Boolean, String,
     * TomlArray, TomlTable). Also used for the subsets generated from kohya folder names.
     */
    static List<DatasetBlueprint> resolve(Map<String, Object> general, List<Map<String, Object>> datasets,
            Map<String, Object> arguments, Options options) {
        List<DatasetBlueprint> out = new ArrayList<>();
        for (int i = 0; i < datasets.size(); i++) {
            String path = "datasets[" + i + "]";
            Map<String, Object> dataset = datasets.get(i);
            List<Map<String, Object>> subsets = subsetTables(dataset, path);
            DatasetKind kind = kindOf(subsets, path, options);
            Map<String, Object> datasetValues = new LinkedHashMap<>(dataset);
            datasetValues.remove("subsets");
            validateTable(datasetValues, path, Level.DATASET, kind, options);
            List<SubsetParams> subsetParams = new ArrayList<>();
            for (int j = 0; j < subsets.size(); j++) {
                String subsetPath = path + ".subsets[" + j + "]";
                validateTable(subsets.get(j), subsetPath, Level.SUBSET, kind, options);
                Resolver r = new Resolver(List.of(subsets.get(j), datasetValues, general),
                        List.of(subsetPath, path, "general"), arguments);
                subsetParams.add(subsetParams(r, kind, subsetPath));
            }
            Resolver r = new Resolver(List.of(datasetValues, general), List.of(path, "general"), arguments);
            out.add(new DatasetBlueprint(datasetParams(r, kind, path, options), subsetParams));
        }
        return out;
    }

    private static List<Map<String, Object>> subsetTables(Map<String, Object> dataset, String path) {
        Object subsets = dataset.get("subsets");
        if (subsets == null) {
            return List.of();
        }
        List<Map<String, Object>> out = new ArrayList<>();
        if (subsets instanceof TomlArray array) {
            for (int j = 0; j < array.size(); j++) {
                out.add(rawTable(array.get(j), path, "subsets[" + j + "]"));
            }
            return out;
        }
        if (subsets instanceof List<?> list) { // generated (legacy folder) subsets
            for (Object o : list) {
                @SuppressWarnings("unchecked")
                Map<String, Object> m = (Map<String, Object>) o;
                out.add(m);
            }
            return out;
        }
        throw new ConfigException(path, "subsets", "expected an array of tables [[datasets.subsets]], got "
                + ValueType.describe(subsets));
    }

    /** validate_flex_dataset: all subsets with metadata_file -> fine-tuning, none -> DreamBooth, else an error. */
    private static DatasetKind kindOf(List<Map<String, Object>> subsets, String path, Options options) {
        for (int j = 0; j < subsets.size(); j++) {
            if (subsets.get(j).containsKey("conditioning_data_dir")) {
                throw new ConfigException(path + ".subsets[" + j + "]", "conditioning_data_dir",
                        "ControlNet-style subsets (conditioning_data_dir, --masked_loss) are not supported by Kiln");
            }
        }
        long withMetadata = subsets.stream().filter(s -> s.containsKey("metadata_file")).count();
        if (!options.supportFinetuning() && withMetadata > 0) {
            throw new ConfigException(firstSubset(subsets, path, true), "metadata_file",
                    "this trainer has no fine-tuning datasets (metadata_file); use image_dir subsets");
        }
        if (!options.supportDreamBooth() && withMetadata < subsets.size()) {
            throw new ConfigException(firstSubset(subsets, path, false), "metadata_file",
                    "required key not provided: this trainer reads fine-tuning datasets only");
        }
        if (withMetadata == 0) {
            return DatasetKind.DREAMBOOTH;
        }
        if (withMetadata == subsets.size()) {
            return DatasetKind.FINETUNE;
        }
        throw new ConfigException(path, "metadata_file", "DreamBooth subset and fine tuning subset cannot be mixed"
                + " in the same dataset: either every subset has metadata_file or none has. Please split them"
                + " into separate datasets.");
    }

    private static String firstSubset(List<Map<String, Object>> subsets, String path, boolean withMetadata) {
        for (int j = 0; j < subsets.size(); j++) {
            if (subsets.get(j).containsKey("metadata_file") == withMetadata) {
                return path + ".subsets[" + j + "]";
            }
        }
        return path;
    }

    /** Unknown keys, keys at the wrong level and wrong types (ConfigSanitizer's strict schemas). */
    private static void validateTable(Map<String, Object> table, String path, Level level, DatasetKind kind,
            Options options) {
        for (Map.Entry<String, Object> e : table.entrySet()) {
            DatasetKey key = DatasetKey.byName(e.getKey());
            if (key == null) {
                throw new ConfigException(path, e.getKey(), unknownKeyMessage(e.getKey(), level, kind, options));
            }
            if (!key.allowedIn(level, kind, options)) {
                throw new ConfigException(path, e.getKey(), misplacedKeyMessage(key, level, kind, options));
            }
            key.type().convert(e.getValue(), path, e.getKey());
        }
        if (level == Level.SUBSET && kind == DatasetKind.DREAMBOOTH && !table.containsKey("image_dir")) {
            throw new ConfigException(path, "image_dir", "required key not provided: a DreamBooth subset needs image_dir");
        }
    }

    private static String unknownKeyMessage(String key, Level level, DatasetKind kind, Options options) {
        if (key.equals("prior_loss_weight") || key.equals("debug_dataset") || key.equals("max_token_length")) {
            return "unknown key; " + key + " is a training argument, not a dataset config key";
        }
        return "unknown key (extra keys not allowed); allowed here: "
                + DatasetKey.allowed(level, kind, options).stream().map(DatasetKey::key)
                        .sorted().collect(Collectors.joining(", "));
    }

    private static String misplacedKeyMessage(DatasetKey key, Level level, DatasetKind kind, Options options) {
        Options everything = new Options(true, true, true, options.bucketResoStepsMultiple());
        if (key.allowedIn(level, kind, everything) && !key.allowedIn(level, kind, options)) {
            return options.supportDropout() ? "not available for a trainer without DreamBooth datasets"
                    : "caption dropout is not available for textual inversion";
        }
        String where = switch (level) {
            case GENERAL -> "[general]";
            case DATASET -> "a [[datasets]] table" + (kind == DatasetKind.FINETUNE ? " of a fine-tuning dataset" : "");
            case SUBSET -> "a " + (kind == DatasetKind.FINETUNE ? "fine-tuning" : "DreamBooth") + " subset";
        };
        String hint = key.allowedIn(Level.SUBSET, kind, everything) ? " (write it in [[datasets.subsets]])"
                : key.allowedIn(Level.DATASET, kind, everything) ? " (write it in [[datasets]] or [general])" : "";
        return "key not allowed in " + where + hint;
    }

    private static SubsetParams subsetParams(Resolver r, DatasetKind kind, String path) {
        String ext = r.string(DatasetKey.CAPTION_EXTENSION, ".caption");
        if (ext != null && !ext.isEmpty() && !ext.startsWith(".")) {
            ext = "." + ext; // DreamBoothSubset.__init__ adds the missing dot
        }
        String interpolation = r.string(DatasetKey.RESIZE_INTERPOLATION, null);
        checkInterpolation(interpolation, r.source(DatasetKey.RESIZE_INTERPOLATION));
        boolean db = kind == DatasetKind.DREAMBOOTH;
        @SuppressWarnings("unchecked")
        Map<String, Object> attributes = (Map<String, Object>) r.value(DatasetKey.CUSTOM_ATTRIBUTES, Map.of());
        return new SubsetParams(kind, path,
                r.string(DatasetKey.IMAGE_DIR, null),
                db ? null : r.string(DatasetKey.METADATA_FILE, null),
                db && r.bool(DatasetKey.IS_REG, false),
                db ? r.string(DatasetKey.CLASS_TOKENS, null) : null,
                db ? ext : null,
                db && r.bool(DatasetKey.CACHE_INFO, false),
                r.bool(DatasetKey.ALPHA_MASK, false),
                r.integer(DatasetKey.NUM_REPEATS, 1),
                r.bool(DatasetKey.SHUFFLE_CAPTION, false),
                r.string(DatasetKey.CAPTION_SEPARATOR, ","),
                r.integer(DatasetKey.KEEP_TOKENS, 0),
                r.string(DatasetKey.KEEP_TOKENS_SEPARATOR, ""),
                r.string(DatasetKey.SECONDARY_SEPARATOR, null),
                r.bool(DatasetKey.ENABLE_WILDCARD, false),
                r.bool(DatasetKey.COLOR_AUG, false),
                r.bool(DatasetKey.FLIP_AUG, false),
                (double[]) r.value(DatasetKey.FACE_CROP_AUG_RANGE, null),
                r.bool(DatasetKey.RANDOM_CROP, false),
                r.string(DatasetKey.CAPTION_PREFIX, null),
                r.string(DatasetKey.CAPTION_SUFFIX, null),
                r.number(DatasetKey.CAPTION_DROPOUT_RATE, 0.0),
                r.integer(DatasetKey.CAPTION_DROPOUT_EVERY_N_EPOCHS, 0),
                r.number(DatasetKey.CAPTION_TAG_DROPOUT_RATE, 0.0),
                r.integer(DatasetKey.TOKEN_WARMUP_MIN, 1),
                r.number(DatasetKey.TOKEN_WARMUP_STEP, 0.0),
                attributes,
                interpolation);
    }

    private static DatasetParams datasetParams(Resolver r, DatasetKind kind, String path, Options options) {
        int[] resolution = (int[]) r.value(DatasetKey.RESOLUTION, null);
        if (resolution == null) {
            throw new ConfigException(path, "resolution", "resolution is required (in [[datasets]], [general] or"
                    + " the training arguments)");
        }
        if (resolution[0] <= 0 || resolution[1] <= 0) {
            throw new ConfigException(r.source(DatasetKey.RESOLUTION), "resolution", "must be positive");
        }
        int batchSize = r.integer(DatasetKey.BATCH_SIZE, 1);
        if (batchSize < 1) {
            throw new ConfigException(r.source(DatasetKey.BATCH_SIZE), "batch_size", "must be at least 1");
        }
        boolean enableBucket = r.bool(DatasetKey.ENABLE_BUCKET, false);
        int min = r.integer(DatasetKey.MIN_BUCKET_RESO, 256);
        int max = r.integer(DatasetKey.MAX_BUCKET_RESO, 1024);
        int steps = r.integer(DatasetKey.BUCKET_RESO_STEPS, 64);
        boolean noUpscale = r.bool(DatasetKey.BUCKET_NO_UPSCALE, false);
        if (enableBucket) {
            if (steps < 1) {
                throw new ConfigException(r.source(DatasetKey.BUCKET_RESO_STEPS), "bucket_reso_steps", "must be positive");
            }
            // adjust_min_max_bucket_reso_by_steps: min rounded down, max rounded up to a multiple of the steps
            if (min % steps != 0) {
                min -= min % steps;
            }
            if (max % steps != 0) {
                max += steps - max % steps;
            }
            if (Math.min(resolution[0], resolution[1]) < min) {
                throw new ConfigException(r.source(DatasetKey.MIN_BUCKET_RESO), "min_bucket_reso",
                        "min_bucket_reso (" + min + ") must be equal or less than resolution");
            }
            if (Math.max(resolution[0], resolution[1]) > max) {
                throw new ConfigException(r.source(DatasetKey.MAX_BUCKET_RESO), "max_bucket_reso",
                        "max_bucket_reso (" + max + ") must be equal or greater than resolution");
            }
            if (steps % options.bucketResoStepsMultiple() != 0) {
                throw new ConfigException(r.source(DatasetKey.BUCKET_RESO_STEPS), "bucket_reso_steps",
                        "bucket_reso_steps is " + steps + ". it must be divisible by " + options.bucketResoStepsMultiple());
            }
        }
        String interpolation = r.string(DatasetKey.RESIZE_INTERPOLATION, null);
        checkInterpolation(interpolation, r.source(DatasetKey.RESIZE_INTERPOLATION));
        Long seed = (Long) r.value(DatasetKey.VALIDATION_SEED, null);
        return new DatasetParams(kind, path, resolution[0], resolution[1], batchSize, enableBucket, min, max, steps,
                noUpscale, r.number(DatasetKey.NETWORK_MULTIPLIER, 1.0),
                seed == null ? null : Math.toIntExact(seed), r.number(DatasetKey.VALIDATION_SPLIT, 0.0), interpolation);
    }

    private static void checkInterpolation(String interpolation, String table) {
        if (interpolation != null && !INTERPOLATIONS.contains(interpolation)) {
            throw new ConfigException(table, "resize_interpolation", "Resize interpolation \"" + interpolation
                    + "\" is not a valid interpolation; use one of " + INTERPOLATIONS.stream().sorted().toList());
        }
    }

    private static Map<String, Object> rawTable(Object value, String parent, String name) {
        if (!(value instanceof TomlTable table)) {
            throw new ConfigException(parent, name, "expected a table, got " + ValueType.describe(value));
        }
        Map<String, Object> out = new LinkedHashMap<>();
        for (String key : table.keySet()) {
            out.put(key, table.get(List.of(key)));
        }
        return out;
    }

    private static Map<String, Object> nonNull(Map<String, Object> m) {
        Map<String, Object> out = new LinkedHashMap<>();
        if (m != null) {
            m.forEach((k, v) -> {
                if (v != null) {
                    out.put(k, v);
                }
            });
        }
        return out;
    }

    /**
     * BlueprintGenerator.search_value: the first table that has the key, then the training arguments (under
     * their command-line names), then the default.
     */
    private static final class Resolver {
        private final List<Map<String, Object>> tables;
        private final List<String> paths;
        private final Map<String, Object> arguments;

        Resolver(List<Map<String, Object>> tables, List<String> paths, Map<String, Object> arguments) {
            this.tables = tables;
            this.paths = paths;
            this.arguments = arguments;
        }

        Object value(DatasetKey key, Object defaultValue) {
            for (int i = 0; i < tables.size(); i++) {
                Object raw = tables.get(i).get(key.key());
                if (raw != null) {
                    return key.type().convert(raw, paths.get(i), key.key());
                }
            }
            Object arg = arguments.get(argumentName(key));
            return arg != null ? arg : defaultValue;
        }

        /** The table a value came from, for error messages ("arguments" when it came from the training arguments). */
        String source(DatasetKey key) {
            for (int i = 0; i < tables.size(); i++) {
                if (tables.get(i).containsKey(key.key())) {
                    return paths.get(i);
                }
            }
            return arguments.containsKey(argumentName(key)) ? "arguments" : paths.get(0);
        }

        String string(DatasetKey key, String defaultValue) {
            return (String) value(key, defaultValue);
        }

        boolean bool(DatasetKey key, boolean defaultValue) {
            return (Boolean) value(key, defaultValue);
        }

        int integer(DatasetKey key, int defaultValue) {
            return Math.toIntExact(((Number) value(key, (long) defaultValue)).longValue());
        }

        double number(DatasetKey key, double defaultValue) {
            return ((Number) Objects.requireNonNull(value(key, defaultValue))).doubleValue();
        }

        /** ConfigSanitizer.ARGPARSE_OPTNAME_TO_CONFIG_OPTNAME, reversed. */
        private static String argumentName(DatasetKey key) {
            return switch (key) {
                case BATCH_SIZE -> "train_batch_size";
                case NUM_REPEATS -> "dataset_repeats";
                default -> key.key();
            };
        }
    }
}
