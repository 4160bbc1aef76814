/** Run in every test file after the framework is installed: what each file must undo when it ends. */
import { closeSharedPolicyPack } from "./policyPacks";

afterAll(closeSharedPolicyPack);
