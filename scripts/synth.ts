/**
 * `npm run synth -- --stack <dev|staging|prod> [--out DIR] [--config FILE] [--policy-config FILE] [--preview]
 * [--prior DIR]` or `--all`: the synth command (scripts/synthCommand.ts) with this process's arguments and streams.
 */
import "../offline/useCodeCache";
import "../offline/useShortRunFlags";
import { runMain } from "./cli";
import { synthCommand } from "./synthCommand";

runMain(() => synthCommand(process.argv.slice(2)));
