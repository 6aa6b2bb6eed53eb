// Command kfp-backend-check runs KFP's own Go backend on compiled pipeline YAML files.
//
// For each FILE it makes the calls the KFP API server (release 2.17.0, matching the kfp 2.17.3 SDK)
// makes when a pipeline is uploaded and a run is created from it:
//
//  1. template.New (NewV2SpecTemplate): parse the pipeline spec and the Kubernetes platform spec;
//  2. common.ValidatePipelineName: the upload-time name check;
//  3. (*V2Spec).RunWorkflow: check the run's inputs, then argocompiler.Compile into an Argo Workflow;
//  4. (*Workflow).Validate(false, false): Argo's validate.ValidateWorkflow, as at run creation;
//     then Validate(true, false), the same with lint.
//
// Configuration is loaded as the API server's initConfig loads it: viper reads config.json (KFP's
// shipped backend/src/apiserver/config/config.json; build.sh puts a copy next to the binary) and
// proxy.InitializeConfigWithEnv runs.
//
// Three things are ours, not the backend's. The YAML is decoded first (the backend's format
// detection loops forever on a YAML syntax error). Every non-empty YAML document must be the
// pipeline spec or a platform spec the backend kept: it silently ignores any other document, so a
// platform spec with a misspelt top-level key or pipelineConfig field would drop every Secret and
// ConfigMap mount without an error. And when the backend rejects a pipeline spec it cannot parse
// with only "unknown template format", the protobuf parser's reason is added.
//
// The run is created with no parameters, so every pipeline input needs a default, unless
// -parameters gives the run's parameter values as a JSON object (the API's
// runtime_config.parameters), e.g. {"model_uri": "s3://models/m"}; they apply to every FILE.
//
// It prints "OK <file>" or "FAIL <file>: <error>" per file and exits 1 when any file fails, 2 on a
// usage or configuration error. With -workflow-dir DIR it also writes each compiled Argo Workflow
// as JSON to DIR/<file name without extension>.json.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/kubeflow/pipelines/api/v2alpha1/go/pipelinespec"
	"github.com/kubeflow/pipelines/backend/src/apiserver/common"
	"github.com/kubeflow/pipelines/backend/src/apiserver/config/proxy"
	"github.com/kubeflow/pipelines/backend/src/apiserver/model"
	"github.com/kubeflow/pipelines/backend/src/apiserver/template"
	"github.com/kubeflow/pipelines/backend/src/common/util"
	"github.com/spf13/viper"
	"google.golang.org/protobuf/encoding/protojson"
	goyaml "gopkg.in/yaml.v3"
)

// The run the workflow is compiled for.
const (
	runID          = "00000000-0000-4000-8000-000000000000"
	runDisplayName = "kfp-backend-check"
	runNamespace   = "kubeflow"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("kfp-backend-check", flag.ContinueOnError)
	flags.SetOutput(stderr)
	configDir := flags.String("config", "",
		"directory holding KFP's apiserver config.json (default: <directory of this binary>/config)")
	workflowDir := flags.String("workflow-dir", "",
		"write each compiled Argo Workflow as JSON to DIR/<file name without extension>.json")
	parameters := flags.String("parameters", "",
		`the run's parameter values as a JSON object, e.g. {"model_uri": "s3://models/m"} (default: none)`)
	flags.Usage = func() {
		fmt.Fprintf(stderr, "usage: kfp-backend-check [-config DIR] [-workflow-dir DIR] [-parameters JSON] FILE...\n\n"+
			"Runs KFP 2.17.0's API server checks and argo compiler on compiled pipeline YAML files.\n\n")
		flags.PrintDefaults()
	}
	if err := flags.Parse(args); err != nil {
		return 2
	}
	files := flags.Args()
	if len(files) == 0 {
		flags.Usage()
		return 2
	}
	var values map[string]interface{}
	if *parameters != "" {
		if err := json.Unmarshal([]byte(*parameters), &values); err != nil || values == nil {
			fmt.Fprintf(stderr, "kfp-backend-check: -parameters must be a JSON object: %s\n", *parameters)
			return 2
		}
	}
	if err := initConfig(*configDir); err != nil {
		fmt.Fprintf(stderr, "kfp-backend-check: %v\n", err)
		return 2
	}
	outputs, err := workflowPaths(*workflowDir, files)
	if err != nil {
		fmt.Fprintf(stderr, "kfp-backend-check: %v\n", err)
		return 2
	}

	failed := 0
	for i, file := range files {
		if err := checkFile(file, *parameters, outputs[i]); err != nil {
			failed++
			fmt.Fprintf(stdout, "FAIL %s: %s\n", file, oneLine(err))
			continue
		}
		fmt.Fprintf(stdout, "OK %s\n", file)
	}
	if failed > 0 {
		return 1
	}
	return 0
}

// initConfig mirrors backend/src/apiserver/main.go:initConfig (minus the file watch).
func initConfig(dir string) error {
	if dir == "" {
		executable, err := os.Executable()
		if err != nil {
			return fmt.Errorf("cannot locate this binary to find its config directory: %w", err)
		}
		dir = filepath.Join(filepath.Dir(executable), "config")
	}
	if _, err := os.Stat(filepath.Join(dir, "config.json")); err != nil {
		return fmt.Errorf("KFP's apiserver config.json is not in %s; pass -config DIR with a copy "+
			"of backend/src/apiserver/config/config.json (build.sh installs one next to the binary)", dir)
	}
	viper.SetEnvKeyReplacer(strings.NewReplacer(".", "_"))
	viper.AutomaticEnv()
	viper.AllowEmptyEnv(true)
	viper.SetConfigName("config")
	viper.SetConfigType("json")
	viper.AddConfigPath(dir)
	if err := viper.ReadInConfig(); err != nil {
		return fmt.Errorf("config file error: %w", err)
	}
	if _, err := common.GetPluginLimitsConfig(); err != nil {
		return fmt.Errorf("invalid plugin limits configuration: %w", err)
	}
	proxy.InitializeConfigWithEnv()
	return nil
}

// workflowPaths returns where each file's workflow goes ("" for nowhere); names must not collide.
func workflowPaths(dir string, files []string) ([]string, error) {
	paths := make([]string, len(files))
	if dir == "" {
		return paths, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cannot create -workflow-dir: %w", err)
	}
	seen := map[string]string{}
	for i, file := range files {
		base := filepath.Base(file)
		name := strings.TrimSuffix(base, filepath.Ext(base)) + ".json"
		if other, ok := seen[name]; ok {
			return nil, fmt.Errorf("%s and %s would both write %s in -workflow-dir; rename one", other, file, name)
		}
		seen[name] = file
		paths[i] = filepath.Join(dir, name)
	}
	return paths, nil
}

// checkFile runs the backend's calls on one file and writes the workflow when output is set.
func checkFile(file, parameters, output string) error {
	content, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	documents, err := yamlDocuments(content)
	if err != nil {
		return err
	}
	tmpl, err := template.New(content, template.TemplateOptions{})
	if err != nil {
		return fmt.Errorf("template.New: %w%s", err, pipelineSpecParseError(documents))
	}
	v2, ok := tmpl.(*template.V2Spec)
	if !ok {
		return errors.New("not a KFP v2 pipeline spec (the backend read it as a v1 Argo workflow)")
	}
	if err := checkNoDroppedDocuments(len(documents), v2); err != nil {
		return err
	}
	if err := common.ValidatePipelineName(tmpl.V2PipelineName()); err != nil {
		return fmt.Errorf("ValidatePipelineName: %w", err)
	}
	run := &model.Run{
		UUID:        runID,
		DisplayName: runDisplayName,
		Namespace:   runNamespace,
		PipelineSpec: model.PipelineSpec{
			RuntimeConfig: model.RuntimeConfig{Parameters: model.LargeText(parameters)},
		},
	}
	spec, err := tmpl.RunWorkflow(run, template.RunWorkflowOptions{RunID: runID})
	if err != nil {
		return fmt.Errorf("RunWorkflow: %w", err)
	}
	if err := spec.Validate(false, false); err != nil {
		return fmt.Errorf("Workflow.Validate: %w", err)
	}
	if err := spec.Validate(true, false); err != nil {
		return fmt.Errorf("Workflow.Validate with lint: %w", err)
	}
	if output == "" {
		return nil
	}
	workflow, ok := spec.(*util.Workflow)
	if !ok {
		return fmt.Errorf("the backend compiled a %T, not an Argo Workflow", spec)
	}
	encoded, err := json.MarshalIndent(workflow.Workflow, "", "  ")
	if err != nil {
		return fmt.Errorf("cannot encode the workflow as JSON: %w", err)
	}
	return os.WriteFile(output, append(encoded, '\n'), 0o644)
}

// yamlDocuments decodes the file's non-empty YAML documents.
func yamlDocuments(content []byte) ([]map[string]interface{}, error) {
	decoder := goyaml.NewDecoder(bytes.NewReader(content))
	var documents []map[string]interface{}
	for {
		var value map[string]interface{}
		err := decoder.Decode(&value)
		if errors.Is(err, io.EOF) {
			return documents, nil
		}
		if err != nil {
			return nil, fmt.Errorf("cannot decode YAML: %w [check by kfp-backend-check]", err)
		}
		if value != nil {
			documents = append(documents, value)
		}
	}
}

// pipelineSpecParseError explains a pipeline spec the backend could not recognise: the
// protobuf parser's error for the first document that looks like one ("" when none fails).
func pipelineSpecParseError(documents []map[string]interface{}) string {
	for _, document := range documents {
		_, hasRoot := document["root"]
		_, hasInfo := document["pipelineInfo"]
		if !hasRoot && !hasInfo {
			continue
		}
		encoded, err := json.Marshal(document)
		if err != nil {
			return fmt.Sprintf(" (the pipeline spec does not encode as JSON: %v)", err)
		}
		if err := protojson.Unmarshal(encoded, &pipelinespec.PipelineSpec{}); err != nil {
			return fmt.Sprintf(" (the pipeline spec does not parse: %v) [detail by kfp-backend-check]", err)
		}
		return ""
	}
	return ""
}

// checkNoDroppedDocuments fails when a non-empty YAML document is neither the pipeline spec nor a
// platform spec the backend kept: NewV2SpecTemplate skips such documents without an error.
func checkNoDroppedDocuments(documents int, v2 *template.V2Spec) error {
	kept := 1 // NewV2SpecTemplate succeeded, so it found exactly one pipeline spec
	if v2.PlatformSpec() != nil {
		kept++
	}
	if documents > kept {
		return fmt.Errorf("the file has %d YAML documents but KFP's backend kept %d (the pipeline "+
			"spec%s): it silently ignores a platform spec with an unknown top-level key or "+
			"pipelineConfig field, dropping every Kubernetes setting (mounts, resources) "+
			"[check by kfp-backend-check, not the backend]",
			documents, kept, map[bool]string{true: " and the platform spec", false: ""}[kept == 2])
	}
	return nil
}

func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}
