package dev.kiln.model.dataset;

/**
 * An invalid job or dataset configuration: names the table (for example {@code datasets[0].subsets[1]},
 * {@code general}, or a file) and the key at fault. The CLI turns it into exit status 2, ingestion into a
 * {@code failed} progress event.
 */
public final class ConfigException extends RuntimeException {
    private final String table;
    private final String key;
    private final String detail;

    public ConfigException(String table, String key, String detail) {
        super(format(table, key, detail));
        this.table = table;
        this.key = key;
        this.detail = detail;
    }

    /** Where the bad key lives: a table path such as {@code datasets[0].subsets[1]}, a file name, or "" for the top level. */
    public String table() {
        return table;
    }

    /** The key at fault, or null when the problem is the table or file as a whole. */
    public String key() {
        return key;
    }

    /** The message without the location prefix. */
    public String detail() {
        return detail;
    }

    private static String format(String table, String key, String detail) {
        StringBuilder where = new StringBuilder();
        if (table != null && !table.isEmpty()) {
            where.append('[').append(table).append(']');
        }
        if (key != null) {
            if (where.length() > 0) {
                where.append(' ');
            }
            where.append(key);
        }
        return where.length() == 0 ? detail : where + ": " + detail;
    }
}
