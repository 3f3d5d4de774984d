package dev.kiln.cli.job;

import dev.kiln.model.dataset.ConfigException;
import dev.kiln.model.dataset.DatasetConfigParser;
import dev.kiln.model.job.JobSpecParser;
import dev.kiln.model.keys.ObjectKeys;
import io.minio.MinioClient;
import io.minio.PutObjectArgs;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code kiln submit JOB.toml [--job NAME] [--watch]}: checks the job file locally, then uploads it unchanged
 * to {@code jobs/<job>/job.toml}, which starts the job (ARCHITECTURE §2). An invalid file exits with status 2
 * and a message naming the key, and nothing is uploaded; status 5 when S3 (or, with {@code --watch}, Kafka)
 * cannot be reached. With {@code --watch} it then follows the job like {@code kiln watch}.
 */
@Command(name = "submit", mixinStandardHelpOptions = true,
        description = "Check a job.toml and upload it to jobs/<job>/job.toml, which starts the job.")
public final class SubmitCommand implements Callable<Integer> {
    /** Largest file read: the TOML parser's character limit, at up to 4 UTF-8 bytes a character. */
    private static final long MAX_FILE_BYTES = 4L * DatasetConfigParser.MAX_TOML_CHARS;

    @Parameters(index = "0", paramLabel = "JOB.toml", description = "the job file (kohya training arguments)")
    Path file;

    @Option(names = "--job", paramLabel = "NAME",
            description = "The job name. Default: the folder name for a file called job.toml, else the file name "
                    + "without extension.")
    String jobName;

    @Option(names = "--watch", description = "Follow the job's progress after submitting (as 'kiln watch').")
    boolean watch;

    @Option(names = "--timeout", paramLabel = "DURATION", converter = DurationConverter.class,
            description = "With --watch: give up (exit 4) when the job has not ended within this time.")
    Duration timeout;

    @Mixin
    ConnectionOptions connection;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        String job = jobName != null ? jobName : defaultJobName(file);
        String problem = jobNameProblem(job);
        if (problem != null) {
            return fail(err, WatchCommand.INVALID_INPUT, problem + (jobName == null ? " (choose one with --job NAME)" : ""));
        }
        byte[] bytes;
        try {
            if (Files.size(file) > MAX_FILE_BYTES) {
                return fail(err, WatchCommand.INVALID_INPUT, file + ": larger than " + MAX_FILE_BYTES + " bytes");
            }
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            return fail(err, WatchCommand.INVALID_INPUT, "cannot read " + file + ": " + e);
        }
        try {
            JobSpecParser.parse(utf8(bytes), file.getFileName().toString(), job);
        } catch (CharacterCodingException e) {
            return fail(err, WatchCommand.INVALID_INPUT, file + ": not UTF-8 text");
        } catch (ConfigException | IllegalArgumentException e) {
            return fail(err, WatchCommand.INVALID_INPUT, file + ": " + e.getMessage());
        }

        // with --watch, fix the start position before the upload, so that no early event is missed
        ProgressWatcher watcher = null;
        if (watch) {
            try {
                watcher = ProgressWatcher.open(connection, job, ProgressWatcher.Start.NOW, timeout);
            } catch (ProgressWatcher.UnavailableException e) {
                return fail(err, WatchCommand.UNAVAILABLE, e.getMessage() + "; nothing was uploaded");
            }
        }
        String key = ObjectKeys.jobSpec(job);
        try {
            upload(connection.s3Client(), connection.bucket(), key, bytes);
        } catch (Exception e) {
            if (watcher != null) {
                watcher.close();
            }
            return fail(err, WatchCommand.UNAVAILABLE, "cannot upload " + file + " to s3://" + connection.bucket() + "/"
                    + key + " at " + connection.s3Endpoint() + ": " + e.getMessage());
        }
        out.println("submitted job " + job + ": " + ObjectKeys.s3Uri(connection.bucket(), key));
        if (watcher == null) {
            out.println("follow it with: ./kiln watch " + job);
            out.flush();
            return 0;
        }
        out.flush();
        return WatchCommand.follow(watcher, job, timeout, out, err);
    }

    private static void upload(MinioClient s3, String bucket, String key, byte[] bytes) throws Exception {
        s3.putObject(PutObjectArgs.builder().bucket(bucket).object(key)
                .stream(new ByteArrayInputStream(bytes), bytes.length, -1)
                .contentType("application/toml").build());
    }

    /** Strict UTF-8: a file in another encoding is an error, not a job with replacement characters. */
    private static String utf8(byte[] bytes) throws CharacterCodingException {
        return StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT)
                .decode(ByteBuffer.wrap(bytes)).toString();
    }

    /** {@code .../<job>/job.toml} -> {@code <job>}; any other file -> its name without extension. */
    public static String defaultJobName(Path file) {
        Path absolute = file.toAbsolutePath().normalize();
        String name = absolute.getFileName() == null ? "" : absolute.getFileName().toString();
        Path parent = absolute.getParent();
        if (name.equals("job.toml") && parent != null && parent.getFileName() != null) {
            return parent.getFileName().toString();
        }
        int dot = name.lastIndexOf('.');
        return dot > 0 ? name.substring(0, dot) : name;
    }

    /** Why {@code job} cannot name a job (it must be one safe key segment, see {@link ObjectKeys}), or null. */
    static String jobNameProblem(String job) {
        try {
            ObjectKeys.jobSpec(job);
            return null;
        } catch (IllegalArgumentException e) {
            return "invalid job name: " + e.getMessage();
        }
    }

    private static int fail(PrintWriter err, int status, String message) {
        err.println(message);
        err.flush();
        return status;
    }
}
