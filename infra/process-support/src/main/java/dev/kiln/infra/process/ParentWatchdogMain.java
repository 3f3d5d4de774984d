package dev.kiln.infra.process;

import java.io.InputStream;
import java.lang.reflect.Method;
import java.util.Arrays;

/**
 * Runs another main class and halts the JVM when standard input reaches end-of-file.
 *
 * <p>The parent keeps the write end of this process's stdin pipe open for as long as it lives. When
 * the parent dies for any reason, even {@code kill -9}, the kernel closes the pipe, this watchdog
 * reads EOF and the child exits: no orphaned brokers or S3 servers.
 *
 * <p>Usage: {@code java -cp ... dev.kiln.infra.process.ParentWatchdogMain <main-class> [args...]}
 */
public final class ParentWatchdogMain {
    private ParentWatchdogMain() {}

    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            System.err.println("usage: ParentWatchdogMain <main-class> [args...]");
            System.exit(2);
        }
        Thread watchdog = new Thread(ParentWatchdogMain::exitOnStdinEof, "parent-watchdog");
        watchdog.setDaemon(true);
        watchdog.start();

        Class<?> target = Class.forName(args[0]);
        Method main = target.getMethod("main", String[].class);
        main.invoke(null, (Object) Arrays.copyOfRange(args, 1, args.length));
    }

    private static void exitOnStdinEof() {
        InputStream in = System.in;
        byte[] buf = new byte[64];
        try {
            while (in.read(buf) >= 0) {
                // the parent never writes; any bytes are ignored
            }
        } catch (Exception ignored) {
            // a broken pipe means the same thing as EOF
        }
        // Try an orderly shutdown first (hooks flush logs, Kafka closes its log segments), then halt.
        Thread halter = new Thread(() -> {
            sleepQuietly(10_000);
            Runtime.getRuntime().halt(1);
        }, "parent-watchdog-halt");
        halter.setDaemon(true);
        halter.start();
        System.exit(0);
    }

    private static void sleepQuietly(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
