package dev.kiln.cli;

import picocli.CommandLine;

/** Entry point of the {@code kiln} command (the {@code ./kiln} wrapper at the repository root runs it). */
public final class Kiln {
    private Kiln() {}

    public static void main(String[] args) {
        int status = new CommandLine(new KilnCommand()).execute(args);
        // 'up' returns only after its stack stopped; other commands end here
        System.exit(status);
    }
}
