package dev.shmheap.ipc.demo;

import java.util.Arrays;

/**
 * Entry point of the runnable jar: {@code java -jar ipc-demo.jar <command> [options]}. The jar's
 * manifest carries the Add-Opens/Add-Exports entries shm-heap needs, so no JVM flags are required.
 */
public final class IpcDemo {
    private static final String USAGE = String.join("\n",
            "usage: java -jar ipc-demo.jar <command> [options]",
            "  " + Consumer.USAGE,
            "  " + Producer.USAGE,
            "  " + PingPong.USAGE,
            "  " + Throughput.USAGE,
            "  " + dev.shmheap.ipc.demo.fanout.FanoutMain.USAGE,
            "  " + dev.shmheap.ipc.demo.bridge.BridgeMain.USAGE);

    private IpcDemo() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length == 0) {
            System.err.println(USAGE);
            System.exit(2);
        }
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        try {
            switch (args[0]) {
                case "consumer" -> Consumer.main(rest);
                case "producer" -> Producer.main(rest);
                case "pingpong" -> PingPong.main(rest);
                case "throughput" -> Throughput.main(rest);
                case "fanout" -> dev.shmheap.ipc.demo.fanout.FanoutMain.main(rest);
                case "bridge" -> dev.shmheap.ipc.demo.bridge.BridgeMain.main(rest);
                default -> {
                    System.err.println("unknown command '" + args[0] + "'\n" + USAGE);
                    System.exit(2);
                }
            }
        } catch (Args.UsageException e) {
            System.err.println(args[0] + ": " + e.getMessage());
            System.exit(2);
        }
    }
}
