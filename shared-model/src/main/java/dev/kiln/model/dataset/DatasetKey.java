package dev.kiln.model.dataset;

import java.util.Arrays;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * Every key of sd-scripts' dataset config, with its type and schema group
 * (library/config_util.py, ConfigSanitizer: the *_SCHEMA dicts). The group decides at which level a key
 * may be written; {@link #allowedIn} derives the key sets of the general, dataset and subset tables.
 */
public enum DatasetKey {
    // DATASET_ASCENDABLE_SCHEMA: [general] and [[datasets]] only
    BATCH_SIZE("batch_size", ValueType.INT, Group.DATASET),
    BUCKET_NO_UPSCALE("bucket_no_upscale", ValueType.BOOL, Group.DATASET),
    BUCKET_RESO_STEPS("bucket_reso_steps", ValueType.INT, Group.DATASET),
    ENABLE_BUCKET("enable_bucket", ValueType.BOOL, Group.DATASET),
    MAX_BUCKET_RESO("max_bucket_reso", ValueType.INT, Group.DATASET),
    MIN_BUCKET_RESO("min_bucket_reso", ValueType.INT, Group.DATASET),
    VALIDATION_SEED("validation_seed", ValueType.INT, Group.DATASET),
    VALIDATION_SPLIT("validation_split", ValueType.FLOAT, Group.DATASET),
    RESOLUTION("resolution", ValueType.RESOLUTION, Group.DATASET),
    NETWORK_MULTIPLIER("network_multiplier", ValueType.FLOAT, Group.DATASET),
    // SUBSET_ASCENDABLE_SCHEMA: every level (resize_interpolation is also a dataset key)
    COLOR_AUG("color_aug", ValueType.BOOL, Group.SUBSET),
    FACE_CROP_AUG_RANGE("face_crop_aug_range", ValueType.FLOAT_PAIR, Group.SUBSET),
    FLIP_AUG("flip_aug", ValueType.BOOL, Group.SUBSET),
    NUM_REPEATS("num_repeats", ValueType.INT, Group.SUBSET),
    RANDOM_CROP("random_crop", ValueType.BOOL, Group.SUBSET),
    SHUFFLE_CAPTION("shuffle_caption", ValueType.BOOL, Group.SUBSET),
    KEEP_TOKENS("keep_tokens", ValueType.INT, Group.SUBSET),
    KEEP_TOKENS_SEPARATOR("keep_tokens_separator", ValueType.STRING, Group.SUBSET),
    SECONDARY_SEPARATOR("secondary_separator", ValueType.STRING, Group.SUBSET),
    CAPTION_SEPARATOR("caption_separator", ValueType.STRING, Group.SUBSET),
    ENABLE_WILDCARD("enable_wildcard", ValueType.BOOL, Group.SUBSET),
    TOKEN_WARMUP_MIN("token_warmup_min", ValueType.INT, Group.SUBSET),
    TOKEN_WARMUP_STEP("token_warmup_step", ValueType.NUMBER, Group.SUBSET),
    CAPTION_PREFIX("caption_prefix", ValueType.STRING, Group.SUBSET),
    CAPTION_SUFFIX("caption_suffix", ValueType.STRING, Group.SUBSET),
    CUSTOM_ATTRIBUTES("custom_attributes", ValueType.TABLE, Group.SUBSET),
    RESIZE_INTERPOLATION("resize_interpolation", ValueType.STRING, Group.SUBSET),
    // DO_SUBSET_ASCENDABLE_SCHEMA: every level, only for trainers with caption dropout (not textual inversion)
    CAPTION_DROPOUT_EVERY_N_EPOCHS("caption_dropout_every_n_epochs", ValueType.INT, Group.DROPOUT),
    CAPTION_DROPOUT_RATE("caption_dropout_rate", ValueType.NUMBER, Group.DROPOUT),
    CAPTION_TAG_DROPOUT_RATE("caption_tag_dropout_rate", ValueType.NUMBER, Group.DROPOUT),
    // DB_SUBSET_ASCENDABLE_SCHEMA: every level of DreamBooth datasets (and [general])
    CAPTION_EXTENSION("caption_extension", ValueType.STRING, Group.DREAMBOOTH),
    CLASS_TOKENS("class_tokens", ValueType.STRING, Group.DREAMBOOTH),
    CACHE_INFO("cache_info", ValueType.BOOL, Group.DREAMBOOTH),
    // subset-only keys (DB_/FT_SUBSET_DISTINCT_SCHEMA)
    IMAGE_DIR("image_dir", ValueType.STRING, Group.SUBSET_ONLY),
    IS_REG("is_reg", ValueType.BOOL, Group.SUBSET_ONLY),
    ALPHA_MASK("alpha_mask", ValueType.BOOL, Group.SUBSET_ONLY),
    METADATA_FILE("metadata_file", ValueType.STRING, Group.SUBSET_ONLY);

    /** Where a key may be written. */
    enum Group { DATASET, SUBSET, DROPOUT, DREAMBOOTH, SUBSET_ONLY }

    /** The table a key is read from. */
    public enum Level { GENERAL, DATASET, SUBSET }

    private static final Map<String, DatasetKey> BY_NAME =
            Arrays.stream(values()).collect(Collectors.toUnmodifiableMap(DatasetKey::key, Function.identity()));

    private final String key;
    private final ValueType type;
    private final Group group;

    DatasetKey(String key, ValueType type, Group group) {
        this.key = key;
        this.type = type;
        this.group = group;
    }

    /** The key as written in TOML (sd-scripts' name). */
    public String key() {
        return key;
    }

    public ValueType type() {
        return type;
    }

    /** The key named {@code name}, or null for an unknown key. */
    public static DatasetKey byName(String name) {
        return BY_NAME.get(name);
    }

    /**
     * Whether this key is allowed in a table of {@code level} for a dataset of {@code kind}
     * ({@code kind} is ignored for [general], whose schema is the union of what the trainer supports).
     */
    public boolean allowedIn(Level level, DatasetKind kind, DatasetConfigParser.Options options) {
        if (group == Group.DROPOUT && !options.supportDropout()) {
            return false;
        }
        if (this == RESIZE_INTERPOLATION) {
            return true;
        }
        switch (level) {
            case GENERAL:
                return group != Group.SUBSET_ONLY && (group != Group.DREAMBOOTH || options.supportDreamBooth());
            case DATASET:
                return group == Group.DATASET || group == Group.SUBSET || group == Group.DROPOUT
                        || (group == Group.DREAMBOOTH && kind == DatasetKind.DREAMBOOTH);
            case SUBSET:
                if (group == Group.SUBSET || group == Group.DROPOUT) {
                    return true;
                }
                if (kind == DatasetKind.DREAMBOOTH) {
                    return group == Group.DREAMBOOTH || this == IMAGE_DIR || this == IS_REG || this == ALPHA_MASK;
                }
                return this == METADATA_FILE || this == IMAGE_DIR || this == ALPHA_MASK;
            default:
                throw new AssertionError(level);
        }
    }

    /** The keys allowed in a table, for "allowed keys" hints. */
    public static Set<DatasetKey> allowed(Level level, DatasetKind kind, DatasetConfigParser.Options options) {
        Set<DatasetKey> keys = EnumSet.noneOf(DatasetKey.class);
        for (DatasetKey k : values()) {
            if (k.allowedIn(level, kind, options)) {
                keys.add(k);
            }
        }
        return keys;
    }
}
