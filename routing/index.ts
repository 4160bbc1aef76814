/**
 * Alert routing: who gets which guardrail alert, per environment. Pure: components/alertRouting.ts deploys the
 * AlertmanagerConfig (or AMP's alert manager definition); synth writes the plain alertmanager.yml; the policy pack
 * checks that every guardrail alert reaches a receiver that sends somewhere.
 */
export * from "./types";
export * from "./build";
export * from "./alertmanager";
export * from "./match";
