package dev.kiln.model.dataset;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.tomlj.TomlArray;
import org.tomlj.TomlTable;

/**
 * The value types of sd-scripts' dataset config schema (voluptuous, strict {@code isinstance} checks) and of
 * its command-line options, applied to values read by tomlj. Python quirks kept on purpose: a bool is an
 * int (so {@code true} passes an int field as 1), and a float field refuses a TOML integer.
 */
public enum ValueType {
    /** Python {@code int} (accepts a bool, as isinstance does). */
    INT("int"),
    /** Python {@code float}: a TOML integer is refused ({@code 0} must be written {@code 0.0}). */
    FLOAT("float"),
    /** Voluptuous {@code Any(float, int)}. */
    NUMBER("float or int"),
    /** Command-line float option: argparse converts "1" and "1.0" alike, so integers are fine. */
    ARG_FLOAT("float"),
    BOOL("bool"),
    STRING("str"),
    /** Dataset {@code resolution}: int or [int, int]; returned as an int[2] of (width, height). */
    RESOLUTION("int or [int, int]"),
    /** Command-line {@code --resolution}: also the strings "512" and "512,768". */
    ARG_RESOLUTION("int, [int, int] or \"w,h\""),
    /** {@code face_crop_aug_range}: exactly two floats; returned as a double[2]. */
    FLOAT_PAIR("[float, float]"),
    /** Command-line {@code --face_crop_aug_range}: also the string "lo,hi". */
    ARG_FLOAT_PAIR("[float, float] or \"lo,hi\""),
    /** A free-form table ({@code custom_attributes}); returned as a Map. */
    TABLE("table"),
    /** argparse {@code nargs="*"} string option: one string or a list of strings; returned as List<String>. */
    STRING_LIST("str or [str, ...]"),
    /** argparse {@code nargs="*"} float option: one number or a list; returned as List<Double>. */
    FLOAT_LIST("float or [float, ...]");

    private final String description;

    ValueType(String description) {
        this.description = description;
    }

    /** What a user should have written, for error messages. */
    public String description() {
        return description;
    }

    /**
     * Converts a tomlj value to this type's Java value (Long, Double, Boolean, String, int[], double[], Map, List).
     *
     * @throws ConfigException naming {@code table} and {@code key} when the value has the wrong type
     */
    public Object convert(Object value, String table, String key) {
        Object converted = tryConvert(value);
        if (converted == null) {
            throw new ConfigException(table, key, "expected " + description + ", got " + describe(value));
        }
        return converted;
    }

    private Object tryConvert(Object v) {
        switch (this) {
            case INT:
                if (v instanceof Long) {
                    return v;
                }
                return v instanceof Boolean b ? (b ? 1L : 0L) : null;
            case FLOAT:
                return v instanceof Double ? v : null;
            case NUMBER:
                if (v instanceof Double || v instanceof Long) {
                    return v;
                }
                return v instanceof Boolean b ? (b ? 1L : 0L) : null;
            case ARG_FLOAT:
                return v instanceof Double || v instanceof Long ? ((Number) v).doubleValue() : null;
            case BOOL:
                return v instanceof Boolean ? v : null;
            case STRING:
                return v instanceof String ? v : null;
            case RESOLUTION:
                return resolution(v);
            case ARG_RESOLUTION:
                return v instanceof String s ? resolutionString(s) : resolution(v);
            case FLOAT_PAIR:
                return floatPair(v, false);
            case ARG_FLOAT_PAIR:
                return v instanceof String s ? floatPairString(s) : floatPair(v, true);
            case TABLE:
                return v instanceof TomlTable t ? plain(t) : null;
            case STRING_LIST:
                return stringList(v);
            case FLOAT_LIST:
                return floatList(v);
            default:
                throw new AssertionError(this);
        }
    }

    private static int[] resolution(Object v) {
        if (v instanceof Long n) {
            return new int[] {Math.toIntExact(n), Math.toIntExact(n)};
        }
        if (v instanceof TomlArray a && a.size() == 2 && a.get(0) instanceof Long w && a.get(1) instanceof Long h) {
            return new int[] {Math.toIntExact(w), Math.toIntExact(h)};
        }
        return null;
    }

    /** sd-scripts' prepare_dataset_args: "512" -> (512, 512), "512,768" -> (512, 768). */
    private static int[] resolutionString(String s) {
        String[] parts = s.split(",", -1);
        try {
            if (parts.length == 1) {
                int n = Integer.parseInt(parts[0].trim());
                return new int[] {n, n};
            }
            if (parts.length == 2) {
                return new int[] {Integer.parseInt(parts[0].trim()), Integer.parseInt(parts[1].trim())};
            }
        } catch (NumberFormatException e) {
            return null;
        }
        return null;
    }

    private static double[] floatPair(Object v, boolean integersAllowed) {
        if (v instanceof TomlArray a && a.size() == 2) {
            Object lo = a.get(0);
            Object hi = a.get(1);
            if (lo instanceof Double l && hi instanceof Double h) {
                return new double[] {l, h};
            }
            if (integersAllowed && lo instanceof Number l && hi instanceof Number h) {
                return new double[] {l.doubleValue(), h.doubleValue()};
            }
        }
        return null;
    }

    private static double[] floatPairString(String s) {
        String[] parts = s.split(",", -1);
        if (parts.length != 2) {
            return null;
        }
        try {
            return new double[] {Double.parseDouble(parts[0].trim()), Double.parseDouble(parts[1].trim())};
        } catch (NumberFormatException e) {
            return null;
        }
    }

    private static List<String> stringList(Object v) {
        if (v instanceof String s) {
            return List.of(s);
        }
        if (!(v instanceof TomlArray a)) {
            return null;
        }
        List<String> out = new ArrayList<>();
        for (int i = 0; i < a.size(); i++) {
            if (!(a.get(i) instanceof String s)) {
                return null;
            }
            out.add(s);
        }
        return List.copyOf(out);
    }

    private static List<Double> floatList(Object v) {
        if (v instanceof Double || v instanceof Long) {
            return List.of(((Number) v).doubleValue());
        }
        if (!(v instanceof TomlArray a)) {
            return null;
        }
        List<Double> out = new ArrayList<>();
        for (int i = 0; i < a.size(); i++) {
            if (!(a.get(i) instanceof Double || a.get(i) instanceof Long)) {
                return null;
            }
            out.add(((Number) a.get(i)).doubleValue());
        }
        return List.copyOf(out);
    }

    /** TOML tables and arrays as plain Maps and Lists (they end up in plan JSON). */
    @SuppressWarnings("unchecked")
    private static <T> T plain(Object v) {
        if (v instanceof TomlTable t) {
            Map<String, Object> m = new java.util.LinkedHashMap<>();
            for (String key : t.keySet()) {
                m.put(key, plain(t.get(List.of(key))));
            }
            return (T) java.util.Collections.unmodifiableMap(m);
        }
        if (v instanceof TomlArray a) {
            List<Object> l = new ArrayList<>();
            for (int i = 0; i < a.size(); i++) {
                l.add(plain(a.get(i)));
            }
            return (T) java.util.Collections.unmodifiableList(l);
        }
        return (T) v;
    }

    /** A short description of a TOML value's type for error messages. */
    static String describe(Object v) {
        if (v instanceof Long) {
            return "integer " + v;
        }
        if (v instanceof Double) {
            return "float " + v;
        }
        if (v instanceof Boolean) {
            return "bool " + v;
        }
        if (v instanceof String s) {
            return "string \"" + s + "\"";
        }
        if (v instanceof TomlArray a) {
            return "array of " + a.size();
        }
        if (v instanceof TomlTable || v instanceof Map) {
            return "table";
        }
        return v == null ? "nothing" : v.getClass().getSimpleName();
    }
}
