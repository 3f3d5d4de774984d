package dev.kiln.diffusion.train.optim;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * sd-scripts' {@code --optimizer_args k=v ...}: each value is a Python literal ({@code ast.literal_eval}): numbers,
 * {@code True}/{@code False}/{@code None}, quoted strings and tuples ({@code betas=0.9,0.999} or
 * {@code betas=(0.9,0.999)}). Values become Double, Long, Boolean, String, List or null. Optimizers read the keys
 * they know and {@link #rejectUnused} fails naming any other key.
 */
public final class OptimizerArgs {

    private final Map<String, Object> values;
    private final Set<String> used = new LinkedHashSet<>();

    private OptimizerArgs(Map<String, Object> values) {
        this.values = values;
    }

    /** No arguments. */
    public static OptimizerArgs empty() {
        return new OptimizerArgs(new LinkedHashMap<>());
    }

    /** Parses {@code key=value} strings; fails naming the argument that is not {@code key=literal}. */
    public static OptimizerArgs parse(List<String> args) {
        Map<String, Object> out = new LinkedHashMap<>();
        for (String arg : args == null ? List.<String>of() : args) {
            int eq = arg.indexOf('=');
            if (eq <= 0 || arg.indexOf('=', eq + 1) >= 0) {
                throw new IllegalArgumentException("optimizer_args '" + arg + "' is not key=value");
            }
            String key = arg.substring(0, eq).trim();
            try {
                out.put(key, literal(arg.substring(eq + 1).trim()));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("optimizer_args " + key + ": " + e.getMessage(), e);
            }
        }
        return new OptimizerArgs(out);
    }

    /** A copy with {@code key} set when the user did not set it (sd-scripts' optimizer-specific defaults). */
    OptimizerArgs withDefault(String key, Object value) {
        Map<String, Object> copy = new LinkedHashMap<>(values);
        copy.putIfAbsent(key, value);
        return new OptimizerArgs(copy);
    }

    boolean has(String key) {
        return values.containsKey(key);
    }

    /** A number ({@code None} gives {@code fallback} too). */
    double number(String key, double fallback) {
        Double v = optionalNumber(key);
        return v == null ? fallback : v;
    }

    /** A number or null when absent or {@code None}. */
    Double optionalNumber(String key) {
        used.add(key);
        Object v = values.get(key);
        if (v == null) {
            return null;
        }
        if (v instanceof Number n) {
            return n.doubleValue();
        }
        throw new IllegalArgumentException("optimizer_args " + key + "=" + v + " is not a number");
    }

    boolean bool(String key, boolean fallback) {
        used.add(key);
        Object v = values.get(key);
        if (v == null) {
            return fallback;
        }
        if (v instanceof Boolean b) {
            return b;
        }
        throw new IllegalArgumentException("optimizer_args " + key + "=" + v + " is not True or False");
    }

    /** A tuple of {@code size} numbers, e.g. betas. */
    double[] numbers(String key, double[] fallback) {
        used.add(key);
        Object v = values.get(key);
        if (v == null) {
            return fallback;
        }
        if (v instanceof List<?> list && list.size() == fallback.length
                && list.stream().allMatch(x -> x instanceof Number)) {
            return list.stream().mapToDouble(x -> ((Number) x).doubleValue()).toArray();
        }
        throw new IllegalArgumentException("optimizer_args " + key + "=" + python(v) + " is not a tuple of "
                + fallback.length + " numbers");
    }

    /** Fails naming every key no optimizer option read. */
    void rejectUnused(String optimizer) {
        List<String> unused = values.keySet().stream().filter(k -> !used.contains(k)).toList();
        if (!unused.isEmpty()) {
            throw new IllegalArgumentException("optimizer_args " + unused + " are not options of " + optimizer);
        }
    }

    /** sd-scripts' rendering in {@code ss_optimizer}: {@code k=v} joined by "," with Python's str of each value. */
    String describe() {
        List<String> parts = new ArrayList<>();
        values.forEach((k, v) -> parts.add(k + "=" + python(v)));
        return String.join(",", parts);
    }

    static Object literal(String text) {
        String s = text.trim();
        if (s.startsWith("(") && s.endsWith(")")) {
            s = s.substring(1, s.length() - 1);
            return tuple(s);
        }
        if (s.contains(",")) {
            return tuple(s);
        }
        switch (s) {
            case "True":
                return Boolean.TRUE;
            case "False":
                return Boolean.FALSE;
            case "None":
                return null;
            default:
                break;
        }
        if (s.length() >= 2 && (s.charAt(0) == '\'' || s.charAt(0) == '"') && s.charAt(s.length() - 1) == s.charAt(0)) {
            return s.substring(1, s.length() - 1);
        }
        try {
            return Long.parseLong(s.replace("_", ""));
        } catch (NumberFormatException notInteger) {
            // fall through to float
        }
        try {
            String f = s.toLowerCase(Locale.ROOT);
            if (f.contains("inf") || f.contains("nan") || f.endsWith("f") || f.endsWith("d")) {
                throw new NumberFormatException(s);
            }
            return Double.parseDouble(s);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + text + "' is not a Python literal");
        }
    }

    private static List<Object> tuple(String body) {
        List<Object> items = new ArrayList<>();
        for (String item : body.split(",", -1)) {
            if (!item.isBlank()) {
                items.add(literal(item));
            }
        }
        return items;
    }

    /** Python's {@code str()} of a parsed literal. */
    static String python(Object v) {
        if (v == null) {
            return "None";
        }
        if (v instanceof Boolean b) {
            return b ? "True" : "False";
        }
        if (v instanceof Double d) {
            return pythonFloat(d);
        }
        if (v instanceof List<?> list) {
            List<String> items = list.stream().map(OptimizerArgs::python).toList();
            return "(" + String.join(", ", items) + (items.size() == 1 ? ",)" : ")");
        }
        return v.toString();
    }

    /** Python float repr: shortest round-trip digits, exponent form below 1e-4 or from 1e16. */
    private static String pythonFloat(double d) {
        if (d == 0) {
            return 1 / d > 0 ? "0.0" : "-0.0";
        }
        java.math.BigDecimal exact = new java.math.BigDecimal(Double.toString(d)).stripTrailingZeros();
        int exponent = exact.precision() - exact.scale() - 1;
        if (exponent < -4 || exponent >= 16) {
            String digits = exact.unscaledValue().abs().toString();
            String mantissa = digits.length() == 1 ? digits : digits.charAt(0) + "." + digits.substring(1);
            return (d < 0 ? "-" : "") + mantissa + "e" + (exponent < 0 ? "-" : "+")
                    + String.format("%02d", Math.abs(exponent));
        }
        String plain = exact.toPlainString();
        return plain.contains(".") ? plain : plain + ".0";
    }
}
